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

#: The learning rules below time pre/post pairs at the synapse.  With a fraction f of the delay d dendritic, a
#: presynaptic spike reaches the synapse (1-f)d after its emission and a postsynaptic one f d after it fires, so
#: the snippet, run at the emission step, compares with the postsynaptic history shifted by d_learn = (2f-1)d:
#: all of d for NEST's models (f = 1), a per-synapse variable otherwise.  0.5 <= f keeps d_learn >= 0, i.e. every
#: postsynaptic spike it needs has already happened.
_ALL_DENDRITIC = "const scalar d_learn = delay;\n"
_FRACTION_DENDRITIC = "const scalar d_learn = (2.0 * dendritic_delay_fraction - 1.0) * delay;\n"


def _split_delay(model: WeightUpdateModel) -> WeightUpdateModel:
    """``model`` with its learning shift d_learn read from the per-synapse ``dendritic_delay_fraction``."""
    assert model.pre_spike_code.startswith(_ALL_DENDRITIC), model.name
    return WeightUpdateModel(name=model.name + "SplitDelay", vars=model.vars + ("dendritic_delay_fraction",),
                             post_trace=model.post_trace,
                             pre_spike_code=model.pre_spike_code.replace(_ALL_DENDRITIC, _FRACTION_DENDRITIC, 1))


#: The part of both pair rules' presynaptic code that finds, in the postsynaptic spike history, ``first``: the
#: first post spike after t_last - d (the entries ``first`` ... ``n - 1`` not yet paired with a pre spike).
_SINCE_LAST_PRE = """
        const scalar eps = 1.0e-6;
        const int n = post_spike_count;
        const int oldest = n > history_size ? n - history_size : 0;
        // the first post spike after t_last - d, and the end of those at or before t - d
        int first = n;
        while (first > oldest && post_spike_time(first - 1) >= t_last - d_learn + eps)
            first -= 1;
        if (first == oldest && oldest > 0 && post_spike_time(oldest) >= t_last - d_learn + eps)
            history_overflow();
"""


def _post_trace_before_spike(tau: str) -> str:
    """``kminus``: the postsynaptic trace (time constant ``tau``) at t - d, from the last post spike strictly
    before it (NEST's get_K_value)."""
    return f"""
        int k = n - 1;
        while (k >= oldest && t_spike - d_learn - post_spike_time(k) <= eps)
            k -= 1;
        if (k >= 0 && k < oldest)
            history_overflow();
        scalar kminus = 0.0;
        if (k >= oldest)
            kminus = post_spike_trace(k) * exp((post_spike_time(k) - (t_spike - d_learn)) / {tau});
"""


#: NEST's stdp_synapse (pair-based STDP, all of the delay dendritic): at each presynaptic spike, first
#: facilitation for every postsynaptic spike t_j with t_last - d < t_j <= t - d, using the presynaptic trace
#: at t_j + d, then depression with the postsynaptic trace at t - d (from the last spike strictly before
#: it), then the updated weight is transmitted.  mu_plus / mu_minus select the weight dependence
#: (additive 0/0, multiplicative 1/1, additive potentiation with multiplicative depression 0/1, Gutig);
#: depression scales with w - w_min as PyNN defines it (NEST's w_min is 0).
#: As NEST, the rule works on the weight in units of w_max, bounded by w_min / w_max and 1: so it holds for the
#: negative weights (and w_min, w_max) of inhibitory current-based synapses too, growing them towards w_max.
#: Here d is d_learn (above); the weight is transmitted after the full delay.
STDP = WeightUpdateModel(
    name="STDPSynapse",
    vars=("weight", "w_min", "w_max", "A_plus", "A_minus", "tau_plus", "tau_minus", "mu_plus", "mu_minus",
          "kplus", "t_last"),
    post_trace="tau_minus",
    pre_spike_code=_ALL_DENDRITIC + _SINCE_LAST_PRE + """
        for (int j = first; j < n; j++) {
            const scalar t_j = post_spike_time(j);
            if (t_j >= t_spike - d_learn + eps)
                break;
            const scalar kp = kplus * exp((t_last - (t_j + d_learn)) / tau_plus);
            const scalar room = 1.0 - weight / w_max;       // room^mu: pow() only for Gutig's exponents
            const scalar scale = mu_plus == 0.0 ? 1.0 : (mu_plus == 1.0 ? room : pow(room, mu_plus));
            weight = fmin(weight / w_max + A_plus * scale * kp, 1.0) * w_max;
        }
        // depression: the post trace at t - d, from the last post spike strictly before it
    """ + _post_trace_before_spike("tau_minus") + """
        const scalar above = fmax(weight / w_max - w_min / w_max, 0.0);
        const scalar scale = mu_minus == 0.0 ? 1.0 : (mu_minus == 1.0 ? above : pow(above, mu_minus));
        weight = fmax(weight / w_max - A_minus * scale * kminus, w_min / w_max) * w_max;
        add_to_post(weight);
        kplus = kplus * exp((t_last - t_spike) / tau_plus) + 1.0;
        t_last = t_spike;
    """,
)

#: STDP with a fraction of the delay dendritic (PyNN's dendritic_delay_fraction, 0.5 <= f <= 1).
STDP_SPLIT_DELAY = _split_delay(STDP)

#: PyNN's stochastic_stp_synapse (the NEST extension shipped in pyNN/nest/extensions): a two-state
#: (recovered / unrecovered) release site after Fuhrmann et al. 2002.  u follows the facilitation of
#: tsodyks_synapse (u = U when tau_facil is 0); an unrecovered site recovers as a Poisson process of rate
#: 1/tau_rec, checked at each spike (t_surv: the time of the last check that found it unrecovered); a
#: recovered site releases with probability u, transmitting the whole weight.  Averaged over trials the
#: release probability is the deterministic Tsodyks-Markram u*x.  Initially u = 0, R = 1, t_surv = t_last = 0.
STOCHASTIC_TSODYKS_MARKRAM = WeightUpdateModel(
    name="StochasticTsodyksMarkramSynapse",
    vars=("weight", "U", "tau_rec", "tau_facil", "u", "R", "t_surv", "t_last"),
    pre_spike_code="""
        if (tau_facil > 1.0e-10) {
            u = u * exp(-(t_spike - t_last) / tau_facil);
            u = u + U * (1.0 - u);
        } else {
            u = U;
        }
        if (R == 0.0) {
            // survival of the unrecovered state since the last check
            const scalar p_surv = exp(-(t_spike - t_surv) / tau_rec);
            if (uniform() > p_surv)
                R = 1.0;
            else
                t_surv = t_spike;
        }
        if (R == 1.0) {
            if (uniform() < u) {
                R = 0.0;
                t_surv = t_spike;
                add_to_post(weight);
            }
        }
        t_last = t_spike;
    """,
)

#: NEST's quantal_stp_synapse (Fuhrmann et al. 2002, Loebel et al. 2009): n release sites, a of them
#: available.  From the second spike on, u = U + u (1 - U) e^(-h/tau_facil) (u = U when tau_facil is 0)
#: and each depleted site recovers with probability 1 - e^(-h/tau_rec); then each available site releases
#: with probability u, and the synapse transmits weight * (the number released).  t_last < 0 marks "no
#: spike yet" (NEST starts it at -1).  One uniform draw per site, as NEST.
MULTI_QUANTAL = WeightUpdateModel(
    name="MultiQuantalSynapse",
    vars=("weight", "U", "n", "tau_rec", "tau_facil", "u", "a", "t_last"),
    pre_spike_code="""
        if (t_last >= 0.0) {
            const scalar h = t_spike - t_last;
            const scalar p_decay = exp(-h / tau_rec);
            const scalar u_decay = tau_facil < 1.0e-10 ? 0.0 : exp(-h / tau_facil);
            u = U + u * (1.0 - U) * u_decay;
            scalar recovered = 0.0;
            for (scalar k = n - a; k > 0.5; k -= 1.0) {
                if (uniform() < 1.0 - p_decay)
                    recovered += 1.0;
            }
            a += recovered;
        }
        scalar released = 0.0;
        for (scalar k = a; k > 0.5; k -= 1.0) {
            if (uniform() < u)
                released += 1.0;
        }
        if (released > 0.0) {
            add_to_post(released * weight);
            a -= released;
        }
        t_last = t_spike;
    """,
)

#: NEST's vogels_sprekeler_synapse (Vogels et al. 2011, inhibitory plasticity; all of the delay dendritic):
#: at each presynaptic spike, first w += eta * x_pre(t_j + d) for every postsynaptic spike t_j with
#: t_last - d < t_j <= t - d (x_pre: the presynaptic trace, time constant tau, read at t_j + d), then
#: w += eta * x_post(t - d) (the postsynaptic trace from the last spike strictly before t - d, time constant
#: tau, NEST's tau_minus of the target), then w -= eta * alpha; the updated weight is transmitted.
#: Potentiation is clipped at w_max, depression at w_min (NEST: 0).  Here d is d_learn (see STDP).
VOGELS_SPREKELER = WeightUpdateModel(
    name="VogelsSprekelerSynapse",
    vars=("weight", "w_min", "w_max", "tau", "eta", "rho", "kplus", "t_last"),
    post_trace="tau",
    pre_spike_code=_ALL_DENDRITIC + _SINCE_LAST_PRE + """
        // in units of w_max, as NEST works on |w| with the sign of Wmax: negative (inhibitory current-based)
        // weights grow in magnitude as positive ones grow
        const scalar step = eta / fabs(w_max);
        for (int j = first; j < n; j++) {     // potentiation for each postsynaptic spike since the last pre one
            const scalar t_j = post_spike_time(j);
            if (t_j >= t_spike - d_learn + eps)
                break;
            weight = fmin(weight / w_max + step * kplus * exp((t_last - (t_j + d_learn)) / tau), 1.0) * w_max;
        }
        // potentiation by the postsynaptic trace at t - d, then the constant depression alpha = 2 rho tau
    """ + _post_trace_before_spike("tau") + """
        weight = fmin(weight / w_max + step * kminus, 1.0) * w_max;
        weight = fmax(weight / w_max - step * 2.0 * rho * tau / 1000.0, w_min / w_max) * w_max;
        add_to_post(weight);
        kplus = kplus * exp((t_last - t_spike) / tau) + 1.0;
        t_last = t_spike;
    """,
)

#: Vogels2011 with a fraction of the delay dendritic (0.5 <= f <= 1).
VOGELS_SPREKELER_SPLIT_DELAY = _split_delay(VOGELS_SPREKELER)
