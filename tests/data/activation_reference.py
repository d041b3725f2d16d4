"""Reference values of every activation and its derivative, for
tests/engine/activations.rs: mpmath at 50 digits from each defining formula, with
the crate's one-sided choice at each kink. Regenerate with
`python3 tests/data/activation_reference.py > tests/data/activation_reference.csv`.

Columns: name, parameter, x, f(x), f'(x), whether the crate reads f' from
the output (then its error is absolute, a few ε, instead of relative).
"""
from mpmath import mp, mpf, exp, expm1, log, tanh, erfc, sqrt, pi

mp.dps = 50
LAMBDA = mpf("1.0507009873554804934193349852946")
ALPHA = mpf("1.6732632423543772848170429916717")
A, B = mpf("1.7159"), mpf(2) / 3
C = mpf("0.044715")


def sig(x):
    return 1 / (1 + exp(-x))


def phi(x):
    return exp(-x * x / 2) / sqrt(2 * pi)


def Phi(x):
    return erfc(-x / sqrt(2)) / 2


def softplus(x):
    return log(1 + exp(x))


def gelu_tanh(x):
    u = sqrt(2 / pi) * (x + C * x**3)
    du = sqrt(2 / pi) * (1 + 3 * C * x**2)
    t = tanh(u)
    return x * (1 + t) / 2, (1 + t) / 2 + x * (1 - t * t) * du / 2


def mish(x):
    t = tanh(softplus(x))
    return x * t, t + x * (1 - t * t) * sig(x)


ACTS = [
    ("identity", 0, lambda x, p: (x, mpf(1)), 0),
    ("sigmoid", 0, lambda x, p: (sig(x), sig(x) * sig(-x)), 1),
    ("tanh", 0, lambda x, p: (tanh(x), 1 - tanh(x) ** 2), 1),
    ("relu", 0, lambda x, p: (max(x, 0), mpf(1 if x > 0 else 0)), 0),
    ("leaky_relu", "0.01", lambda x, p: (x if x > 0 else p * x, mpf(1) if x > 0 else p), 0),
    ("elu", 1, lambda x, p: (x if x > 0 else p * expm1(x), mpf(1) if x > 0 else p * exp(x)), 1),
    ("elu", "0.5", lambda x, p: (x if x > 0 else p * expm1(x), mpf(1) if x > 0 else p * exp(x)), 1),
    ("selu", 0, lambda x, p: (LAMBDA * x if x > 0 else LAMBDA * ALPHA * expm1(x),
                              LAMBDA if x > 0 else LAMBDA * ALPHA * exp(x)), 1),
    ("gelu", 0, lambda x, p: (x * Phi(x), Phi(x) + x * phi(x)), 0),
    ("gelu_tanh", 0, lambda x, p: gelu_tanh(x), 0),
    ("silu", 0, lambda x, p: (x * sig(x), sig(x) * (1 + x * (1 - sig(x)))), 0),
    ("softplus", 1, lambda x, p: (log(1 + exp(p * x)) / p, sig(p * x)), 0),
    ("softplus", 2, lambda x, p: (log(1 + exp(p * x)) / p, sig(p * x)), 0),
    ("softsign", 0, lambda x, p: (x / (1 + abs(x)), 1 / (1 + abs(x)) ** 2), 0),
    ("hard_tanh", 0, lambda x, p: (min(max(x, -1), 1), mpf(1 if -1 < x < 1 else 0)), 0),
    ("hard_sigmoid", 0, lambda x, p: (min(max(x / 6 + mpf(1) / 2, 0), 1),
                                      mpf(1) / 6 if -3 < x < 3 else mpf(0)), 0),
    ("mish", 0, lambda x, p: mish(x), 0),
    ("lecun_tanh", 0, lambda x, p: (A * tanh(B * x), A * B * (1 - tanh(B * x) ** 2)), 1),
    ("centred_sigmoid", 0, lambda x, p: (sig(x) - mpf(1) / 2, sig(x) * sig(-x)), 1),
]
XS = ["-1e4", "-1e3", "-30", "-3", "-1", "-0.5", "0", "0.5", "1", "3", "30", "1e3", "1e4"]

print("# name,param,x,f,df,df_from_output")
for name, p, fn, from_output in ACTS:
    for xs in XS:
        f, df = fn(mpf(xs), mpf(p))
        print(f"{name},{p},{xs},{mp.nstr(f, 20)},{mp.nstr(df, 20)},{from_output}")
