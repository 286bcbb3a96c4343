"""Built-in weight-update models."""
from ..models import WeightUpdateModel

#: A fixed weight added to the target after the synapse's delay.
STATIC = WeightUpdateModel(name="StaticSynapse", vars=("weight",), pre_spike_code="add_to_post(weight);")

#: NEST's tsodyks_synapse: depression and facilitation updated at each presynaptic spike, the
#: transmitted weight is weight * (the released fraction).  All parameters are per synapse; tau_psc is the
#: postsynaptic current's time constant, taken from the target cell.
TSODYKS_MARKRAM = WeightUpdateModel(
    name="TsodyksMarkramSynapse",
    vars=("weight", "U", "tau_rec", "tau_facil", "tau_psc", "u", "x", "y", "t_last"),
    pre_spike_code="""
        const scalar h = t_spike - t_last;
        const scalar p_uu = tau_facil == 0.0 ? 0.0 : exp(-h / tau_facil);
        const scalar p_yy = exp(-h / tau_psc);
        const scalar p_zz = expm1(-h / tau_rec);
        const scalar p_xy = (p_zz * tau_rec - (p_yy - 1.0) * tau_psc) / (tau_psc - tau_rec);
        const scalar z = 1.0 - x - y;
        u = u * p_uu;
        x = x + p_xy * y - p_zz * z;
        y = y * p_yy;
        u = u + U * (1.0 - u);
        const scalar released = u * x;
        x -= released;
        y += released;
        t_last = t_spike;
        add_to_post(weight * released);
    """,
)

#: NEST's bernoulli_synapse: each spike is transmitted with probability p, drawn on the device.
SIMPLE_STOCHASTIC = WeightUpdateModel(
    name="SimpleStochasticSynapse", vars=("weight", "p"),
    pre_spike_code="if (uniform() < p) add_to_post(weight);",
)
