"""Tabular models whose inference logs the simulator serves and whose validation data ships.

Each :class:`Dataset` has one generator, ``generate(rng, drift, concept) -> Rows``, that draws
``len(drift)`` rows: the features the model saw, its prediction and the true label. The shipped
validation CSV (:mod:`mmtui.sim.sample_data`) and the live records (:mod:`mmtui.sim.records`) both
come from it, so calm traffic matches the baseline and the model's quality on it matches the
validation quality.

``drift`` and ``concept`` are per-row strengths in [0, 1] (the scenario's envelopes). At 0 a row
is drawn exactly as in calm traffic. ``drift`` moves some inputs (:attr:`Dataset.drifted`):
covariate drift, the labels still follow the features as before. ``concept`` leaves the inputs
alone and changes how the labels follow from them, so the model's quality drops while no input
drifts.

The models
----------
``fraud`` (Triton ``fraud-scorer``, model ``fraud_xgb``)
    Binary fraud classification of card transactions. ``prediction`` is the class (1 = fraud)
    from the model's score thresholded at 0.5; ``label`` the true class (from chargebacks).
    About 8 % fraud; accuracy about 0.95. Drift: a card-testing campaign, amounts ×1.5 and mass
    moved to electronics, gaming and online retail, paid on the web. Concept shift: account
    takeover, fraud moves to old accounts and ordinary amounts the model trusts; accuracy about
    0.72.
``sentiment`` (TorchServe ``sentiment``, model ``distilbert``)
    Three classes (negative, neutral, positive) of customer messages, with text statistics as
    features. Accuracy about 0.90. Drift: a launch in Brazil and Spain, Portuguese and Spanish
    messages, longer texts (the model is weaker outside English, so quality dips a little).
``watch_time`` (Triton ``recsys-ranker``, model ``ranker_onnx``)
    Regression: seconds a user will watch a recommended item. Concept shift: a player change
    stops autoplay, users watch about 45 % less than the model expects; MAE about 1.5×.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
StrArray = NDArray[np.str_]
Column = FloatArray | StrArray

LABEL = "label"
PREDICTION = "prediction"
"""Column names of the target and the model output in the validation CSV (as in the records)."""


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows of a data set, column-wise: features, then the model's prediction and the label."""

    features: dict[str, Column]
    prediction: Column
    label: Column

    def __len__(self) -> int:
        return len(self.prediction)

    def table(self) -> dict[str, Column]:
        """Every column, features first, as the validation CSV has them."""
        return {**self.features, PREDICTION: self.prediction, LABEL: self.label}


Generator = Callable[[np.random.Generator, FloatArray, FloatArray], Rows]


@dataclass(frozen=True, slots=True, eq=False)
class Dataset:
    """One simulated model's data: its columns and the generator of its rows (compared and
    hashed by identity)."""

    name: str
    task: Literal["classification", "regression"]
    decimals: Mapping[str, int]
    """Numeric columns (features, and prediction and label for regression) → decimals kept;
    0 for integers. Every other column is categorical text."""
    drifted: tuple[str, ...]
    """The features the scenario's covariate drift moves."""
    id_prefix: str
    """Record ids start with this (``txn``, ``msg``, ...)."""
    generate: Generator

    @property
    def file_name(self) -> str:
        """The validation CSV's name in ``sample_data/``."""
        return f"{self.name}_validation.csv"


def data_dir() -> Path:
    """Shipped sample data: ``sample_data/`` in a checkout, ``mmtui/_sample_data`` in a wheel."""
    here = Path(__file__).resolve().parent.parent
    packaged = here / "_sample_data"
    return packaged if packaged.is_dir() else here.parent / "sample_data"


def validation_path(dataset: Dataset, directory: Path | None = None) -> Path:
    """Where ``dataset``'s validation CSV is (default: in :func:`data_dir`)."""
    return (directory or data_dir()) / dataset.file_name


def pick(
    rng: np.random.Generator,
    n: int,
    calm: Sequence[float],
    shifted: Sequence[float] | None = None,
    strength: FloatArray | None = None,
) -> IntArray:
    """The index of one level per row, drawn with the weights ``calm``; with ``shifted`` and
    ``strength``, row ``i`` draws from ``(1 - strength[i]) * calm + strength[i] * shifted``
    (weights normalised)."""
    u = rng.random(n)
    cdf = np.cumsum(np.asarray(calm, dtype=np.float64))
    cdf /= cdf[-1]
    if shifted is None or strength is None:
        index = np.searchsorted(cdf, u, side="right")
    else:
        other = np.cumsum(np.asarray(shifted, dtype=np.float64))
        other /= other[-1]
        mixed = (1.0 - strength)[:, None] * cdf + strength[:, None] * other
        index = (u[:, None] >= mixed).sum(axis=1)
    out: IntArray = np.minimum(index, len(calm) - 1).astype(np.int64)
    return out


def choose(
    rng: np.random.Generator,
    n: int,
    levels: Sequence[str],
    calm: Sequence[float],
    shifted: Sequence[float] | None = None,
    strength: FloatArray | None = None,
) -> StrArray:
    """One of ``levels`` per row, drawn as :func:`pick` draws."""
    return np.asarray(levels)[pick(rng, n, calm, shifted, strength)]


def _round(x: FloatArray, decimals: int) -> FloatArray:
    return np.asarray(np.round(x, decimals), dtype=np.float64)


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-x))
    return out


# ----------------------------------------------------------------------------- fraud

CATEGORIES = ("grocery", "restaurants", "fuel", "travel", "electronics", "online_retail",
              "gaming", "pharmacy", "apparel", "services")
_CATEGORY_CALM = (0.22, 0.16, 0.10, 0.06, 0.06, 0.14, 0.03, 0.07, 0.08, 0.08)
_CATEGORY_DRIFT = (0.12, 0.09, 0.05, 0.05, 0.22, 0.22, 0.14, 0.04, 0.04, 0.03)
_CATEGORY_RISK = dict(zip(CATEGORIES, (-0.3, -0.2, -0.2, 0.5, 0.8, 0.5, 0.9, -0.2, 0.0, 0.0),
                          strict=True))
COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "BR", "IN")
_COUNTRY_CALM = (0.38, 0.12, 0.10, 0.09, 0.06, 0.05, 0.04, 0.06, 0.05, 0.05)
CHANNELS = ("pos", "app", "web")
CARD_TYPES = ("debit", "credit", "prepaid")
_HOUR_WEIGHTS = tuple((1.0 + 0.9 * np.sin(2 * np.pi * (np.arange(24) - 9) / 24)).tolist())


def fraud_rows(rng: np.random.Generator, drift: FloatArray, concept: FloatArray) -> Rows:
    """Card transactions scored by a fraud model (see the module docstring)."""
    n = len(drift)
    amount = _round(np.clip(np.exp(rng.normal(3.6, 1.0, n)) * (1.0 + 0.5 * drift),
                              0.5, 50_000.0), 2)
    age = np.floor(np.clip(np.exp(rng.normal(6.0, 1.3, n)), 0.0, 9000.0))
    hour = pick(rng, n, _HOUR_WEIGHTS).astype(np.float64)
    distance = _round(np.clip(np.exp(rng.normal(1.6, 1.4, n)), 0.0, 15_000.0), 1)
    n_txn = rng.poisson(rng.gamma(1.5, 2.5, n)).astype(np.float64)
    merchant_risk = _round(rng.beta(2.0, 9.0, n), 3)
    category = choose(rng, n, CATEGORIES, _CATEGORY_CALM, _CATEGORY_DRIFT, drift)
    country = choose(rng, n, COUNTRIES, _COUNTRY_CALM)
    channel = choose(rng, n, CHANNELS, (0.45, 0.30, 0.25), (0.20, 0.25, 0.55), drift)
    card = choose(rng, n, CARD_TYPES, (0.55, 0.38, 0.07))
    seen, where = np.unique(category, return_inverse=True)
    risky = np.array([_CATEGORY_RISK[str(c)] for c in seen])[where]
    log_amount, log_age = np.log(amount), np.log1p(age)
    score = (
        -3.4 + 0.9 * (log_amount - 3.6) - 0.6 * (log_age - 6.0) + 0.3 * np.log1p(distance)
        + 0.12 * (n_txn - 3.75) + 7.0 * (merchant_risk - 0.18) + risky
        + 0.6 * (channel == "web") + 1.0 * (card == "prepaid") + 0.5 * (hour < 5)
        + 0.3 * (country == "BR")
    )
    # Account takeover: fraud on old accounts at ordinary amounts, online, that the model trusts.
    takeover = (-1.8 + 1.4 * (log_age - 6.0) - 0.6 * np.abs(log_amount - 3.6)
                + 1.2 * (channel != "pos"))
    truth = (1.0 - concept) * score + concept * takeover
    label = (rng.random(n) < _sigmoid(2.5 * truth)).astype(np.float64)
    model_score = _sigmoid(2.5 * (score + rng.normal(0.0, 0.35, n)))
    prediction = (model_score >= 0.5).astype(np.float64)
    features: dict[str, Column] = {
        "amount": amount, "account_age_days": age, "txn_hour": hour, "distance_km": distance,
        "n_txn_24h": n_txn, "merchant_risk": merchant_risk, "merchant_category": category,
        "country": country, "channel": channel, "card_type": card,
    }
    return Rows(features, prediction, label)


FRAUD = Dataset(
    "fraud",
    "classification",
    {"amount": 2, "account_age_days": 0, "txn_hour": 0, "distance_km": 1, "n_txn_24h": 0,
     "merchant_risk": 3, PREDICTION: 0, LABEL: 0},
    ("amount", "merchant_category", "channel"),
    "txn",
    fraud_rows,
)


# ----------------------------------------------------------------------------- sentiment

SENTIMENTS = ("negative", "neutral", "positive")
LANGUAGES = ("en", "es", "de", "fr", "pt", "it", "ja")
_LANGUAGE_CALM = (0.62, 0.09, 0.08, 0.08, 0.04, 0.05, 0.04)
_LANGUAGE_DRIFT = (0.36, 0.20, 0.06, 0.06, 0.24, 0.04, 0.04)
_LANGUAGE_NOISE = {"en": 0.55, "es": 0.8, "de": 0.7, "fr": 0.7, "pt": 1.1, "it": 0.8, "ja": 1.0}
SOURCES = ("review", "support", "social")
_SOURCE_CLASSES = np.array([(0.25, 0.20, 0.55), (0.55, 0.35, 0.10), (0.30, 0.30, 0.40)])
_SOURCE_CHARS = np.array([220.0, 380.0, 110.0])


def sentiment_rows(rng: np.random.Generator, drift: FloatArray, concept: FloatArray) -> Rows:
    """Customer messages classified by a sentiment model (see the module docstring)."""
    n = len(drift)
    language = choose(rng, n, LANGUAGES, _LANGUAGE_CALM, _LANGUAGE_DRIFT, drift)
    source_index = pick(rng, n, (0.5, 0.2, 0.3))
    source = np.asarray(SOURCES)[source_index]
    cdf = np.cumsum(_SOURCE_CLASSES[source_index], axis=1)
    truth = (rng.random(n)[:, None] >= cdf).sum(axis=1).clip(0, 2)
    polarity = truth - 1.0  # -1, 0, 1
    lexicon = _round(np.clip(rng.normal(0.5 * polarity, 0.17), -1.0, 1.0), 3)
    chars = np.floor(_SOURCE_CHARS[source_index] * np.exp(rng.normal(0.0, 0.6, n))
                     * (1.0 + 0.4 * drift)).clip(3.0, 5000.0)
    exclaim = rng.poisson(0.3 + 0.9 * np.abs(polarity)).astype(np.float64)
    caps = _round(rng.beta(1.5, 30.0, n) * (1.0 + exclaim / 3.0), 3).clip(0.0, 1.0)
    seen, where = np.unique(language, return_inverse=True)
    noise = np.array([_LANGUAGE_NOISE[str(x)] for x in seen])[where]
    evidence = (lexicon + 0.05 * exclaim * np.sign(lexicon)) / 0.5
    guess = evidence + rng.normal(0.0, 0.25, n) * noise
    predicted = np.digitize(guess, (-0.5, 0.5))
    features: dict[str, Column] = {
        "n_chars": chars, "n_exclaim": exclaim, "caps_ratio": caps, "lexicon_score": lexicon,
        "language": language, "source": source,
    }
    names = np.asarray(SENTIMENTS)
    return Rows(features, names[predicted], names[truth])


SENTIMENT = Dataset(
    "sentiment",
    "classification",
    {"n_chars": 0, "n_exclaim": 0, "caps_ratio": 3, "lexicon_score": 3},
    ("n_chars", "language"),
    "msg",
    sentiment_rows,
)


# ----------------------------------------------------------------------------- watch time

DEVICES = ("mobile", "tv", "desktop", "tablet")
CONTENT = ("short", "episode", "movie", "live")
_CONTENT_SECONDS = np.array([45.0, 1500.0, 6000.0, 3600.0])
_DEVICE_ENGAGEMENT = np.array([-0.3, 0.6, 0.0, 0.1])
_SLOT_WEIGHTS = tuple(1.0 / s for s in range(1, 13))


def watch_time_rows(rng: np.random.Generator, drift: FloatArray, concept: FloatArray) -> Rows:
    """Recommendations scored by a watch-time regression model (see the module docstring)."""
    n = len(drift)
    device_index = pick(rng, n, (0.55, 0.2, 0.15, 0.1))
    content_index = pick(rng, n, (0.45, 0.3, 0.15, 0.1))
    slot = pick(rng, n, _SLOT_WEIGHTS).astype(np.float64) + 1.0
    duration = _round(_CONTENT_SECONDS[content_index] * np.exp(rng.normal(0.0, 0.3, n)), 0)
    tenure = np.floor(np.exp(rng.normal(5.0, 1.2, n))).clip(0.0, 6000.0)
    item_age = _round(np.exp(rng.normal(3.5, 1.5, n)), 1).clip(0.0, 20_000.0)
    engaged = (
        -0.2 + _DEVICE_ENGAGEMENT[device_index] + 0.25 * (np.log1p(tenure) - 5.0)
        - 0.12 * (slot - 1.0) - 0.1 * (np.log1p(item_age) - 3.5)
    )
    expected = duration * _sigmoid(engaged)
    watched = expected * np.exp(rng.normal(0.0, 0.35, n)) * (1.0 - 0.45 * concept)
    label = _round(np.minimum(watched, duration), 1)
    prediction = _round(expected * np.exp(rng.normal(0.0, 0.1, n)), 1)
    features: dict[str, Column] = {
        "device": np.asarray(DEVICES)[device_index],
        "content_type": np.asarray(CONTENT)[content_index], "slot": slot,
        "item_duration_s": duration, "user_tenure_days": tenure, "item_age_hours": item_age,
    }
    return Rows(features, prediction, label)


WATCH_TIME = Dataset(
    "watch_time",
    "regression",
    {"slot": 0, "item_duration_s": 0, "user_tenure_days": 0, "item_age_hours": 1,
     PREDICTION: 1, LABEL: 1},
    (),
    "imp",
    watch_time_rows,
)

DATASETS: tuple[Dataset, ...] = (FRAUD, SENTIMENT, WATCH_TIME)
"""Every data set, in the order their validation files are written."""
