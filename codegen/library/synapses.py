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

#: NEST's stdp_synapse (pair-based STDP, all of the delay dendritic): at each presynaptic spike, first
#: facilitation for every postsynaptic spike t_j with t_last - d < t_j <= t - d, using the presynaptic trace
#: at t_j + d, then depression with the postsynaptic trace at t - d (from the last spike strictly before
#: it), then the updated weight is transmitted.  mu_plus / mu_minus select the weight dependence
#: (additive 0/0, multiplicative 1/1, additive potentiation with multiplicative depression 0/1, Gutig).
STDP = WeightUpdateModel(
    name="STDPSynapse",
    vars=("weight", "w_min", "w_max", "A_plus", "A_minus", "tau_plus", "tau_minus", "mu_plus", "mu_minus",
          "kplus", "t_last"),
    post_trace="tau_minus",
    pre_spike_code="""
        const scalar eps = 1.0e-6;
        const int n = post_spike_count;
        const int oldest = n > history_size ? n - history_size : 0;
        // the first post spike after t_last - d, and the end of those at or before t - d
        int first = n;
        while (first > oldest && post_spike_time(first - 1) >= t_last - delay + eps)
            first -= 1;
        if (first == oldest && oldest > 0 && post_spike_time(oldest) >= t_last - delay + eps)
            history_overflow();
        for (int j = first; j < n; j++) {
            const scalar t_j = post_spike_time(j);
            if (t_j >= t_spike - delay + eps)
                break;
            const scalar kp = kplus * exp((t_last - (t_j + delay)) / tau_plus);
            weight = fmin(weight + w_max * A_plus * pow(1.0 - weight / w_max, mu_plus) * kp, w_max);
        }
        // depression: the post trace at t - d, from the last post spike strictly before it
        int k = n - 1;
        while (k >= oldest && t_spike - delay - post_spike_time(k) <= eps)
            k -= 1;
        if (k >= 0 && k < oldest)
            history_overflow();
        scalar kminus = 0.0;
        if (k >= oldest)
            kminus = post_spike_trace(k) * exp((post_spike_time(k) - (t_spike - delay)) / tau_minus);
        weight = fmax(weight - w_max * A_minus * pow(weight / w_max, mu_minus) * kminus, w_min);
        add_to_post(weight);
        kplus = kplus * exp((t_last - t_spike) / tau_plus) + 1.0;
        t_last = t_spike;
    """,
)
