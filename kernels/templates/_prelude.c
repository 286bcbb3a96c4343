/* ---- pyNN.gpu prelude: helpers shared by every kernel, written once for both dialects ---- */

/* A dialect that keeps the launch's step offset (PG_LAUNCH_STEP) in a device variable declares it here. */
#ifdef PG_LAUNCH_STEP_DECLARATION
PG_LAUNCH_STEP_DECLARATION
#endif

/* GeNN's injectCurrent(x) in a current source's injection code: adds x (nA) to what the source injects in this
   step (the neuron body's local pg_injected). */
#define PG_INJECT(x) (pg_injected += (scalar)(x))

/* The smaller of two ints.  OpenCL's builtin min() is a call PoCL does not inline, and one call keeps a whole
   kernel's loops from being vectorised on a CPU. */
DEVICE_FN int pg_min_int(int a, int b)
{
    return a < b ? a : b;
}

/* IEEE fmin and fmax (a NaN operand yields the other) as selects, for a dialect whose builtins are calls the
   compiler does not inline (it maps fmin and fmax here, after this prelude). */
DEVICE_FN scalar pg_fmin(scalar a, scalar b)
{
    return (b < a || a != a) ? b : a;
}

DEVICE_FN scalar pg_fmax(scalar a, scalar b)
{
    return (b > a || a != a) ? b : a;
}

/* pow, exact for the exponents 0 and 1 without the call (a dialect maps pow here, after this prelude). */
DEVICE_FN scalar pg_pow(scalar a, scalar b)
{
    return b == (scalar)0 ? (scalar)1 : b == (scalar)1 ? a : pow(a, b);
}

/* Atomic add of a scalar: native where the dialect has it, else a compare-and-swap loop. */
#if PG_DOUBLE
DEVICE_FN void pg_atomic_add(GLOBAL scalar *p, scalar v)
{
#if HAS_NATIVE_FLOAT_ATOMIC_ADD
    ATOMIC_ADD_NATIVE(p, v);
#else
    unsigned long old = AS_ULONG(*p), assumed;
    do {
        assumed = old;
        old = ATOMIC_CAS_U64(p, assumed, AS_ULONG(AS_DOUBLE(assumed) + v));
    } while (old != assumed);
#endif
}
#else
DEVICE_FN void pg_atomic_add(GLOBAL scalar *p, scalar v)
{
#if HAS_NATIVE_FLOAT_ATOMIC_ADD
    ATOMIC_ADD_NATIVE(p, v);
#else
    unsigned int old = AS_UINT(*p), assumed;
    do {
        assumed = old;
        old = ATOMIC_CAS_U32(p, assumed, AS_UINT(AS_FLOAT(assumed) + v));
    } while (old != assumed);
#endif
}
#endif

/* Philox4x32-10 counter-based RNG, keyed by (seed) and counted by (step, element, stream, block): the same seed
 * gives the same numbers on every device and thread layout.  The four words of a block serve four draws in turn
 * (the first is the block's c0, as the host's reproduction of pg_normal assumes). */
typedef struct { unsigned int c0, c1, c2, c3, k0, k1, w1, w2, w3; int left; } pg_rng_t;

DEVICE_FN unsigned int pg_philox(pg_rng_t *s)
{
    if (s->left > 0) {   /* words of the last block not yet drawn */
        s->left -= 1;
        return s->left == 2 ? s->w1 : (s->left == 1 ? s->w2 : s->w3);
    }
    unsigned int c0 = s->c0, c1 = s->c1, c2 = s->c2, c3 = s->c3, k0 = s->k0, k1 = s->k1;
    for (int r = 0; r < 10; r++) {
        const unsigned int hi0 = MULHI_U32(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const unsigned int hi1 = MULHI_U32(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        c0 = hi1 ^ c1 ^ k0; c1 = lo1; c2 = hi0 ^ c3 ^ k1; c3 = lo0;
        k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
    }
    s->c3 += 1u;   /* next block */
    s->w1 = c1; s->w2 = c2; s->w3 = c3; s->left = 3;
    return c0;
}

DEVICE_FN pg_rng_t pg_rng_init(unsigned int seed_lo, unsigned int seed_hi, unsigned int step,
                               unsigned int element, unsigned int stream)
{
    pg_rng_t s;
    s.c0 = step; s.c1 = element; s.c2 = stream; s.c3 = 0u; s.k0 = seed_lo; s.k1 = seed_hi;
    s.w1 = 0u; s.w2 = 0u; s.w3 = 0u; s.left = 0;
    return s;
}

/* The gap to a procedural connection's next target: the number of entries of `table` (n thresholds, never
 * increasing) above the word u (codegen/procedural.py).  A first guess from log2(u) read off the float's exponent
 * and mantissa (a quadratic in the mantissa: within 0.005; inv_log2_q = 1 / log2(1 - p)), then the table's
 * comparisons move it to the exact count: the same on every device, with no call to a library logarithm. */
DEVICE_FN int pg_geometric_gap(unsigned int u, GLOBAL const unsigned int *table, int n, float inv_log2_q)
{
    const unsigned int bits = AS_UINT((float)u + 0.5f);
    const float m = (float)(bits & 0x7FFFFFu) * 1.1920928955078125e-7f;       /* mantissa - 1, in [0, 1) */
    const float log2_u = (float)((int)(bits >> 23) - 127) + m * (1.3465557f - 0.3465557f * m);
    const float guess = (log2_u - 32.0f) * inv_log2_q;
    int g = guess <= 0.0f ? 0 : guess >= (float)n ? n : (int)guess;
    while (g > 0 && table[g - 1] <= u)
        g--;
    while (g < n && table[g] > u)
        g++;
    return g;
}

/* Uniform in [0, 1): 24 random bits in single precision, 32 in double. */
DEVICE_FN scalar pg_uniform(pg_rng_t *s)
{
#if PG_DOUBLE
    return (scalar)pg_philox(s) * 2.3283064365386963e-10;
#else
    return (scalar)(pg_philox(s) >> 8) * 5.9604644775390625e-8f;
#endif
}

/* A standard normal deviate from two uniform draws of the stream (Box-Muller): a model snippet's normal(). */
DEVICE_FN scalar pg_gauss(pg_rng_t *s)
{
    const scalar u1 = pg_uniform(s);
    const scalar u2 = pg_uniform(s);
    return sqrt((scalar)-2 * log((scalar)1 - u1)) * cos((scalar)6.283185307179586 * u2);
}

/* mu + sigma * z, with z a standard normal deviate for the Philox counter (step, element, stream, group)
 * under the key (seed_lo, seed_hi): a pure function of its arguments.  z inverts one 32-bit draw through
 * `table` (built by codegen/library/current_sources.py): entries 0..65535 are the normal's means over the
 * 2^-16 bins of the uniform, entries 65536..131071 its means over the 2^-32 sub-bins of the lowest bin; the
 * highest bin mirrors the lowest.  Integer work, a look-up and a product rounded on its own (volatile: never
 * fused into a multiply-add), so the host reproduces every value bit for bit. */
DEVICE_FN scalar pg_normal_of(GLOBAL const scalar *table, unsigned int r, scalar mu, scalar sigma)
{
    const unsigned int hi = r >> 16, lo = r & 0xFFFFu;
    const scalar z = hi == 0u ? table[65536u + lo]
                   : hi == 0xFFFFu ? -table[65536u + (0xFFFFu - lo)] : table[hi];
    volatile scalar spread = sigma * z;
    return mu + spread;
}

DEVICE_FN scalar pg_normal(GLOBAL const scalar *table, unsigned int seed_lo, unsigned int seed_hi,
                           unsigned int element, unsigned int group, unsigned int stream, unsigned int step,
                           scalar mu, scalar sigma)
{
    pg_rng_t s = pg_rng_init(seed_lo, seed_hi, step, element, stream);
    s.c3 = group;
    return pg_normal_of(table, pg_philox(&s), mu, sigma);
}

/* The word `word` (0-3) of the Philox block at counter (c0, c1, c2, c3) under the key (seed_lo, seed_hi). */
DEVICE_FN unsigned int pg_word(unsigned int seed_lo, unsigned int seed_hi, unsigned int c0, unsigned int c1,
                               unsigned int c2, unsigned int c3, int word)
{
    pg_rng_t s = pg_rng_init(seed_lo, seed_hi, c0, c1, c2);
    s.c3 = c3;
    unsigned int r = pg_philox(&s);
    for (int k = 0; k < word; k++)
        r = pg_philox(&s);
    return r;
}

/* A uniform deviate in [0, 1) from the word r, as pg_uniform makes it. */
DEVICE_FN scalar pg_uniform_of(unsigned int r)
{
#if PG_DOUBLE
    return (scalar)r * 2.3283064365386963e-10;
#else
    return (scalar)(r >> 8) * 5.9604644775390625e-8f;
#endif
}
