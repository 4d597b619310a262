"""AutoML over scikit-learn models: pick the model family and its hyperparameters together.

`AutoMLClassifier` and `AutoMLRegressor` search one conditional space (the CASH problem:
combined algorithm selection and hyperparameter optimisation): a categorical ``model`` picks a
family (linear, SVM, k-NN, random forest, extra trees, histogram gradient boosting, MLP), and
only that family's hyperparameters exist in the trial, as ``<family>__<name>``; a ``scaler``
exists for the families that need scaled inputs. Missing values are imputed, and pandas
categorical, boolean or string columns one-hot encoded, in front of every model (pandas'
nullable dtypes too, their ``pd.NA`` being a missing value).

The search is a `HyperdialSearchCV` underneath, so it gets the same cross-validation, fold-by-
fold pruning of hopeless configurations, parallel candidates (``n_jobs``), storage and resume.
Its first trials are a warm start: the best configurations of the nearest earlier AutoML
studies in the same storage (nearest by dataset meta-features), then a portfolio of
configurations chosen offline to do well across many datasets (`hyperdial.warmstart`).

After the search, ensemble selection (Caruana et al., 2004, as in Auto-sklearn) averages the
best configurations: greedily, with replacement, it adds the one whose out-of-fold predictions
(kept from the cross-validation, so no model is judged on data it trained on) most improve the
average's score. The members are refitted on all the data and their average predicts; a
classifier without ``predict_proba`` votes for the class it predicts.
"""

from __future__ import annotations

import json
import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

import numpy as np

from hyperdial._optional import require

require("sklearn", "sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone  # noqa: E402
from sklearn.compose import ColumnTransformer, make_column_selector  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import get_scorer_names  # noqa: E402
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import (  # noqa: E402
    FunctionTransformer,
    OneHotEncoder,
    RobustScaler,
    StandardScaler,
)
from sklearn.svm import SVC, SVR  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions  # noqa: E402
from sklearn.utils.metaestimators import available_if  # noqa: E402
from sklearn.utils.parallel import Parallel, delayed  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

from hyperdial import warmstart  # noqa: E402
from hyperdial.integrations._ensemble import (  # noqa: E402
    VotingEnsemble,
    ensemble_selection,
    out_of_fold,
    scorer_of,
)
from hyperdial.integrations._sk_space import Decoder, ParamSpace, convert  # noqa: E402
from hyperdial.integrations.sklearn import (  # noqa: E402
    _PREDICTIONS,
    HyperdialSearchCV,
    _Candidate,
    _Runner,
)
from hyperdial.pruners import PercentilePruner  # noqa: E402
from hyperdial.pruners.base import Pruner  # noqa: E402
from hyperdial.samplers.base import Sampler  # noqa: E402
from hyperdial.space import (  # noqa: E402
    Categorical,
    Condition,
    Distribution,
    Float,
    Int,
    SearchSpace,
)
from hyperdial.study import Study, get_all_study_names, load_study  # noqa: E402
from hyperdial.trial import TrialState  # noqa: E402

MODEL, SCALER = "model", "scaler"  # the study's family choice and the shared scaler choice
TASK_ATTR, META_ATTR = "automl_task", "automl_meta_features"  # study user attributes
NBEST = 25  # completed configurations whose fold predictions an ensemble may draw on
MISSING = "missing"  # the category a missing value of a non-numeric column is encoded as


def _identity(value: Any) -> Any:
    return value


def _one_layer(width: int) -> tuple[int]:
    return (int(width),)


@dataclass(frozen=True)
class Family:
    """A model family: the estimator (unfitted; each trial gets a clone, seeded where it takes
    a ``random_state``), what to tune (its parameter names) and whether it needs scaled inputs.
    ``decoders`` turn a study value into the estimator's."""

    estimator: Any
    params: Mapping[str, Distribution]
    scaled: bool = False
    decoders: Mapping[str, Decoder] = field(default_factory=dict)

    def make(self, seed: int) -> Any:
        model = clone(self.estimator)
        if "random_state" in model.get_params(deep=False):
            model.set_params(random_state=seed)
        return model


_FOREST: dict[str, Distribution] = {
    "max_features": Float(0.05, 1.0), "min_samples_leaf": Int(1, 20, log=True)}
_BOOSTING: dict[str, Distribution] = {
    "learning_rate": Float(0.01, 0.5, log=True), "max_leaf_nodes": Int(4, 128, log=True),
    "min_samples_leaf": Int(2, 100, log=True), "l2_regularization": Float(1e-8, 10.0, log=True),
    "max_iter": Int(50, 500, log=True)}
_MLP: dict[str, Distribution] = {
    "hidden_layer_sizes": Int(16, 256, log=True), "alpha": Float(1e-6, 0.1, log=True),
    "learning_rate_init": Float(1e-4, 0.1, log=True)}
_RBF: dict[str, Distribution] = {"C": Float(1e-3, 1e3, log=True),
                                 "gamma": Float(1e-5, 10.0, log=True)}
_KNN: dict[str, Distribution] = {
    "n_neighbors": Int(1, 50, log=True), "weights": Categorical(("uniform", "distance")),
    "p": Categorical((1, 2))}

def _common(knn: type, forest: type, extra_trees: type, boosting: type,
            mlp: type) -> dict[str, Family]:
    """The families both tasks have, from the task's estimator classes."""
    return {
        "knn": Family(knn(), _KNN, scaled=True),
        "random_forest": Family(forest(100), _FOREST),
        "extra_trees": Family(extra_trees(100), _FOREST),
        "hist_gradient_boosting": Family(boosting(early_stopping=False), _BOOSTING),
        "mlp": Family(mlp(max_iter=300), _MLP, scaled=True,
                      decoders={"hidden_layer_sizes": _one_layer}),
    }


#: Built-in families by task; a search uses all of them unless ``models`` says otherwise.
FAMILIES: dict[str, dict[str, Family]] = {
    "classification": {
        "logistic": Family(LogisticRegression(max_iter=2000),
                           {"C": Float(1e-4, 1e4, log=True)}, scaled=True),
        "svc": Family(SVC(kernel="rbf"), _RBF, scaled=True),
        **_common(KNeighborsClassifier, RandomForestClassifier, ExtraTreesClassifier,
                  HistGradientBoostingClassifier, MLPClassifier),
    },
    "regression": {
        "ridge": Family(Ridge(), {"alpha": Float(1e-4, 1e4, log=True)}, scaled=True),
        "svr": Family(SVR(kernel="rbf"), {**_RBF, "epsilon": Float(1e-3, 1.0, log=True)},
                      scaled=True),
        **_common(KNeighborsRegressor, RandomForestRegressor, ExtraTreesRegressor,
                  HistGradientBoostingRegressor, MLPRegressor),
    },
}

_SCALERS: dict[str, Callable[[], Any]] = {"standard": StandardScaler, "robust": RobustScaler}


def _scaler(kind: str) -> Any:
    return _SCALERS[kind]()


@dataclass(frozen=True)
class _ModelDecoder:
    """The ``model`` value (a family name) as a fresh, seeded estimator; a class rather than a
    closure so that a fitted search pickles."""

    families: Mapping[str, Family]
    seed: int

    def __call__(self, name: str) -> Any:
        return self.families[name].make(self.seed)


def _families(task: str, models: Sequence[Any] | None) -> dict[str, Family]:
    """The families to search: built-in names, or ``(name, estimator, params)`` of one's own."""
    builtin = FAMILIES[task]
    if models is None:
        return dict(builtin)
    if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or not models:
        raise ValueError(f"models must be a non-empty list, got {models!r}")
    out: dict[str, Family] = {}
    for entry in models:
        if isinstance(entry, str):
            if entry not in builtin:
                raise ValueError(f"unknown {task} model {entry!r}; built in: {sorted(builtin)}")
            name, family = entry, builtin[entry]
        elif isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[0], str):
            name, estimator, specs = entry
            family = _own_family(name, estimator, specs)
        else:
            raise ValueError(f"a model is a built-in name or a (name, estimator, params) "
                             f"tuple, got {entry!r}")
        if name in out:
            raise ValueError(f"model {name!r} is given twice")
        if "__" in name or name in (MODEL, SCALER):
            raise ValueError(f"model name {name!r} may not contain '__' or be {MODEL!r} or "
                             f"{SCALER!r}")
        out[name] = family
    return out


def _own_family(name: str, estimator: Any, specs: Mapping[str, Any]) -> Family:
    if not hasattr(estimator, "fit") or not isinstance(specs, Mapping):
        raise ValueError(f"model {name!r}: expected (name, estimator, dict of distributions)")
    params, decoders = {}, {}
    for key, spec in specs.items():
        try:
            params[key], decoders[key] = convert(spec)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"model {name!r}, parameter {key!r}: {exc}") from exc
    return Family(estimator, params, decoders=decoders)


def cash_space(families: Mapping[str, Family], seed: int) -> ParamSpace:
    """The conditional space over ``families`` and how a trial's values become the
    parameters of the pipeline ``[("prep", ...), ("scale", ...), ("model", ...)]``."""
    names = tuple(families)
    params: dict[str, Distribution] = {MODEL: Categorical(names)}
    conditions: dict[str, Condition] = {}
    decoders: dict[str, tuple[str, Decoder]] = {
        MODEL: ("model", _ModelDecoder(families, seed))}
    scaled = tuple(n for n, f in families.items() if f.scaled)
    if scaled:
        params[SCALER] = Categorical(tuple(_SCALERS))
        conditions[SCALER] = Condition(MODEL, scaled)
        decoders[SCALER] = ("scale", _scaler)
    for name, family in families.items():
        for key, dist in family.params.items():
            params[f"{name}__{key}"] = dist
            conditions[f"{name}__{key}"] = Condition(MODEL, (name,))
            decoders[f"{name}__{key}"] = (f"model__{key}", family.decoders.get(key, _identity))
    return ParamSpace(SearchSpace(params, conditions), decoders)


def _is_frame(X: Any) -> bool:
    return hasattr(X, "select_dtypes")


def meta_features(X: Any, y: Any, task: str) -> dict[str, float]:
    """A few cheap dataset descriptions that tell datasets apart for the warm start: log sizes,
    the share of categorical (non-numeric) columns and of missing values (in any column), and
    for classification the number of classes and the entropy of their frequencies (1 =
    balanced). A DataFrame's pandas nullable columns (``Int64``, ``string``, ...) count their
    ``pd.NA`` as missing."""
    n, d = X.shape
    if _is_frame(X):
        categorical = d - X.select_dtypes("number").shape[1]
        missing = float(X.isna().to_numpy().mean())
    else:
        categorical, missing = 0, float(np.isnan(np.asarray(X, dtype=float)).mean())
    out = {"log_samples": math.log(n), "log_features": math.log(d),
           "categorical_share": categorical / d, "missing_share": missing}
    if task == "classification":
        _, counts = np.unique(np.asarray(y), return_counts=True)
        freq = counts / counts.sum()
        k = len(counts)
        out["log_classes"] = math.log(k)
        out["class_entropy"] = float(-(freq * np.log(freq)).sum() / math.log(k)) if k > 1 else 0.0
    return out


def _as_text(X: Any) -> np.ndarray:
    """A DataFrame's non-numeric columns for the one-hot encoder: each value as its text, and
    a missing one (None, NaN, NaT, pandas' NA) imputed as `MISSING`. The encoder refuses
    ``pd.NA``, and a column that mixes text with booleans or numbers."""
    text: np.ndarray = np.where(X.isna().to_numpy(), MISSING,
                                X.astype(str).to_numpy(dtype=object))
    return text


def preprocessor(X: Any) -> Any:
    """Median imputation for numbers (pandas nullable ones included, their ``pd.NA`` as NaN)
    and, for a DataFrame's other columns (text, categorical, boolean), one-hot codes with a
    missing value as a category of its own."""
    impute = SimpleImputer(strategy="median", keep_empty_features=True)
    if _is_frame(X) and X.select_dtypes("number").shape[1] < X.shape[1]:
        categories = Pipeline([
            ("text", FunctionTransformer(_as_text, feature_names_out="one-to-one")),
            ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False))])
        return ColumnTransformer([
            ("numbers", impute, make_column_selector(dtype_include="number")),
            ("categories", categories, make_column_selector(dtype_exclude="number")),
        ])
    return impute


def _portfolio(task: str) -> list[dict[str, Any]]:
    """The configurations chosen offline for ``task`` (``python -m benchmarks.automl
    --build-portfolio`` writes them)."""
    text = resources.files("hyperdial.integrations").joinpath("automl_portfolio.json")
    data: dict[str, list[dict[str, Any]]] = json.loads(text.read_text(encoding="utf-8"))
    return data.get(task, [])


class _CashSearchCV(HyperdialSearchCV):
    """The search behind AutoML: takes a ready `ParamSpace`, lets the AutoML estimator
    prepare the study (attributes, warm start) as soon as it is open, and keeps the fold
    predictions of its best `NBEST` completed candidates (``kept_``, best first) for an
    ensemble; with ``recover_best``, those of the study's best one too when an earlier fit
    found it (`_after_search`)."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **HyperdialSearchCV._parameter_constraints, "param_distributions": [ParamSpace]}
    _keep_predictions = True
    prepare: Callable[[Study], None] | None = None
    recover_best: bool = False

    def _open_study(self) -> Study:
        study = super()._open_study()
        if self.prepare is not None:
            self.prepare(study)
        self.kept_: list[_Candidate] = []
        return study

    def _run_batch(self, batch: list[_Candidate], runner: Any) -> None:
        super()._run_batch(batch, runner)
        done = []
        for cand in batch:
            if cand.state is TrialState.COMPLETE and len(cand.predictions) == self.n_splits_:
                done.append(cand)
            else:
                cand.predictions = {}
        ranked = sorted(self.kept_ + done, key=lambda c: -c.value(runner.metric))
        for cand in ranked[NBEST:]:  # memory stays bounded however long the search
            cand.predictions = {}
        self.kept_ = ranked[:NBEST]

    def _after_search(self, cands: list[_Candidate], runner: _Runner) -> None:
        """With ``recover_best``, when the study's best configuration is an earlier fit's (a
        resumed study: its fold predictions were not kept), cross-validate it again on the
        same splits for them and put it first in ``kept_``, so that the ensemble draws on the
        configuration that `best_estimator_` is (its stored fold scores stay as they were)."""
        done = [c for c in cands if c.state is TrialState.COMPLETE]
        if not (self.recover_best and self.kept_ and done):
            return
        best = max(done, key=lambda c: c.value(runner.metric))  # the first of any tie
        if best.predictions:
            return
        tasks = [(best, k) for k in range(self.n_splits_)]
        outs = runner.evaluate(tasks, best.resource)
        predictions = {k: out[_PREDICTIONS] for (_, k), out in zip(tasks, outs, strict=True)
                       if out is not None and _PREDICTIONS in out}
        if len(predictions) == self.n_splits_:
            best.predictions = predictions
            self.kept_ = [best, *self.kept_][:NBEST]

    def _check_refit_for_multimetric(self, scores: Any) -> None:
        """A scoring callable that returns several metrics (`_AutoML.fit` refuses a list or
        a dict up front): AutoML has one objective, and no ``refit`` to name it."""
        raise ValueError(f"AutoML optimises one metric, but its scoring callable returned "
                         f"{len(scores)} ({sorted(scores)}): make it return a single number")


class _AutoML(BaseEstimator):  # type: ignore[misc]
    """What the classifier and the regressor share; see `AutoMLClassifier`."""

    _task: ClassVar[str]
    _parameter_constraints: ClassVar[dict[str, Any]] = {
        "n_trials": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "fit_timeout": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "models": [list, tuple, None],  # their entries: `_families`
        "cv": ["cv_object"],
        "scoring": [StrOptions(set(get_scorer_names())), callable, None],
        "sampler": [HasMethods(["propose"]), None],
        "pruner": [StrOptions({"auto"}), HasMethods(["decide"]), None],
        "warm_start": "no_validation",  # counts, bools refused: `fit`
        "portfolio": [list, tuple, None],
        "ensemble_size": "no_validation",
        "n_jobs": [numbers.Integral, None],
        "random_state": ["random_state"],
        "storage": [str, HasMethods(["append"]), None],
        "study_name": [str, None],
        "verbose": ["verbose"],
    }
    meta_features_: dict[str, float]
    study_: Study
    best_estimator_: Any
    best_model_: str
    best_score_: float

    def __init__(self, *, n_trials: int | None = 50, timeout: float | None = None,
                 fit_timeout: float | None = None,
                 models: Sequence[Any] | None = None, cv: Any = 5, scoring: Any = None,
                 sampler: Sampler | None = None, pruner: Pruner | str | None = "auto",
                 warm_start: int = 5, portfolio: Sequence[Mapping[str, Any]] | None = None,
                 ensemble_size: int = 50, n_jobs: int | None = None, random_state: Any = None,
                 storage: Any = None, study_name: str | None = None, verbose: int = 0) -> None:
        self.n_trials = n_trials
        self.timeout = timeout
        self.fit_timeout = fit_timeout
        self.models = models
        self.cv = cv
        self.scoring = scoring
        self.sampler = sampler
        self.pruner = pruner
        self.warm_start = warm_start
        self.portfolio = portfolio
        self.ensemble_size = ensemble_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.storage = storage
        self.study_name = study_name
        self.verbose = verbose

    def fit(self, X: Any, y: Any, groups: Any = None) -> _AutoML:
        """Search the families and their hyperparameters, then refit the best on all data.

        ``groups`` go to the splitter, as `GridSearchCV.fit` passes them (``cv=GroupKFold()``
        keeps each group within one fold)."""
        self._check_params()
        self._check_data(X)
        families = _families(self._task, self.models)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        space = cash_space(families, seed)
        pipeline = Pipeline([("prep", preprocessor(X)), ("scale", "passthrough"),
                             ("model", next(iter(families.values())).make(seed))])
        # Stop a configuration when its running mean after a fold is worse than three in four
        # completed ones at that fold (the folds are the same for every configuration); the
        # median rule cost accuracy in benchmarks/sklearn_search.py, one fold being noisy.
        pruner = (PercentilePruner(75.0, n_startup_trials=10) if isinstance(self.pruner, str)
                  else self.pruner)  # (a string is "auto": `_check_params`)
        self.meta_features_ = meta_features(X, y, self._task)
        search = _CashSearchCV(
            pipeline, space, n_trials=self.n_trials, timeout=self.timeout,
            fit_timeout=self.fit_timeout,
            sampler=self.sampler, pruner=pruner, scoring=self.scoring, n_jobs=self.n_jobs,
            cv=self.cv, verbose=self.verbose, random_state=seed, storage=self.storage,
            study_name=self.study_name, error_score=np.nan)
        self.warm_start_configs_: list[dict[str, Any]] = []
        search.prepare = lambda study: self._prepare(study, space)
        search.recover_best = self.ensemble_size >= 2
        with warnings.catch_warnings():
            # An MLP stopped at max_iter is a configuration like any other, not news.
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y, groups=groups)
        search.prepare = None  # the study is open; and a fitted search pickles
        self.ensemble_, self.ensemble_members_ = self._ensemble(search, X, y)
        search.kept_ = []  # their predictions have served
        self.search_ = search
        self.best_estimator_ = search.best_estimator_
        self.best_params_ = dict(search.study_.best_params)
        self.best_model_ = self.best_params_[MODEL]
        self.best_score_ = search.best_score_
        self.study_ = search.study_
        if hasattr(search, "classes_"):
            self.classes_ = search.classes_
        self.n_features_in_ = search.n_features_in_
        if hasattr(search, "feature_names_in_"):  # fitted on a table with named columns
            self.feature_names_in_ = search.feature_names_in_
        elif hasattr(self, "feature_names_in_"):  # (refitted on an array: none now)
            del self.feature_names_in_
        return self

    def _check_params(self) -> None:
        """The constructor's arguments, checked before anything runs, named as this class's
        (the search underneath would name its own, private class)."""
        if isinstance(self.scoring, (Mapping, list, tuple, set)):
            raise ValueError(
                f"{type(self).__name__} optimises one metric: scoring must be a scorer name, a "
                f"callable returning one number, or None, got {self.scoring!r}. Score the "
                f"fitted model with other metrics afterwards (sklearn.metrics).")
        self._validate_params()
        for name in ("warm_start", "ensemble_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")

    def _check_data(self, X: Any) -> None:
        """Refuse what is not a table with rows and columns, in scikit-learn's words, before
        its meta-features are computed (a log of 0 rows or columns)."""
        shape = np.shape(X)
        if len(shape) != 2:
            raise ValueError(f"Expected a 2D array, got {len(shape)}D with shape {shape}: "
                             f"{type(self).__name__} fits a table of samples x features")
        for count, what in zip(shape, ("sample", "feature"), strict=True):
            if count < 1:
                raise ValueError(f"Found array with 0 {what}(s) (shape={shape}) while a "
                                 f"minimum of 1 is required by {type(self).__name__}.")

    def _prepare(self, study: Study, space: ParamSpace) -> None:
        """Mark the study as this task's, with the data's meta-features, and enqueue the warm
        start: the best of the nearest earlier AutoML studies of the storage, then the
        offline portfolio (a resumed study has a history of its own and gets none)."""
        study.set_user_attr(TASK_ATTR, self._task)
        study.set_user_attr(META_ATTR, self.meta_features_)
        if self.warm_start == 0 or study.trials:
            return
        self.warm_start_configs_ = warmstart.warm_start(
            study, self._earlier_studies(study), self.warm_start,
            meta_features=self.meta_features_, meta_key=META_ATTR, space=space.space,
            then=_portfolio(self._task) if self.portfolio is None else self.portfolio)

    def _ensemble(self, search: _CashSearchCV, X: Any, y: Any
                  ) -> tuple[VotingEnsemble | None, list[dict[str, Any]]]:
        """Ensemble selection over the search's best configurations (the study's best among
        them, even when an earlier fit found it), its members refitted on all the data;
        (None, []) when it picks a single one, which `best_estimator_` is already, when the
        splitter's test folds do not cover every sample once, or when the study's best
        configuration has no out-of-fold predictions to draw on."""
        if self.ensemble_size < 2 or len(search.kept_) < 2:
            return None, []
        best = search.study_.best_trial  # kept_[0] scores as well, unless an earlier fit's
        if best is not None and best.value is not None \
                and search.kept_[0].value(None) < best.value:
            warnings.warn(f"no ensemble: the study's best configuration (trial {best.number}) "
                          "was not among this fit's and could not be cross-validated again "
                          "for its out-of-fold predictions; best_estimator_ predicts alone",
                          UserWarning, stacklevel=3)
            return None, []
        y = np.asarray(y)
        classes = search.classes_ if self._task == "classification" else None
        oof = [out_of_fold(list(c.predictions.values()), len(y), classes)
               for c in search.kept_]
        if any(values is None for values in oof):
            warnings.warn("no ensemble: the cross-validation's test folds do not cover every "
                          "sample exactly once (use a KFold-like splitter)", UserWarning,
                          stacklevel=3)
            return None, []
        counts = ensemble_selection(oof, scorer_of(search.scorer_, y, classes),  # type: ignore[arg-type]
                                    self.ensemble_size)
        chosen = [(int(n), c) for n, c in zip(counts, search.kept_, strict=True) if n > 0]
        if len(chosen) < 2:
            return None, []
        members = Parallel(n_jobs=self.n_jobs)(
            delayed(_refit)(search.estimator, c.params, X, y) for _, c in chosen)
        rounds = sum(n for n, _ in chosen)
        weights = [n / rounds for n, _ in chosen]
        trials = {t.number: t for t in search.study_.trials}
        rows = [{"trial": c.number, "model": trials[c.number].params[MODEL],
                 "weight": w, "score": c.value(None)}
                for w, (_, c) in zip(weights, chosen, strict=True)]
        return VotingEnsemble(members, weights, classes), rows

    def _final(self) -> Any:
        """What predicts: the ensemble, or the refitted best pipeline."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_ if self.ensemble_ is None else self.ensemble_

    def _earlier_studies(self, study: Study) -> list[Study]:
        """The storage's other AutoML studies of this task (a URL storage only)."""
        if not isinstance(self.storage, str):
            return []
        others = (load_study(study_name=name, storage=self.storage)
                  for name in get_all_study_names(self.storage) if name != study.study_name)
        return [s for s in others if s.user_attrs.get(TASK_ATTR) == self._task]

    def leaderboard(self) -> list[dict[str, Any]]:
        """The best completed trial of each family, best first: ``model``, ``score`` (mean
        CV score), ``trials`` (how many of that family ran to the end) and ``params``."""
        check_is_fitted(self, "study_")
        best: dict[str, dict[str, Any]] = {}
        for t in self.study_.get_trials(states=(TrialState.COMPLETE,)):
            name = t.params[MODEL]
            row = best.setdefault(name, {"model": name, "score": -math.inf, "trials": 0})
            row["trials"] += 1
            if t.value is not None and t.value > row["score"]:
                row["score"], row["params"] = t.value, dict(t.params)
        return sorted(best.values(), key=lambda r: -r["score"])

    def predict(self, X: Any) -> Any:
        return self._final().predict(X)


def _refit(pipeline: Any, params: Mapping[str, Any], X: Any, y: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clone(pipeline).set_params(**clone(dict(params), safe=False)).fit(X, y)


def _final_has(method: str) -> Callable[[Any], bool]:
    """For `available_if`: whether what predicts (the ensemble, or the refitted best
    pipeline) offers ``method`` (before fit: whether it could)."""
    def check(self: Any) -> bool:
        if getattr(self, "best_estimator_", None) is None:
            return True
        return hasattr(self._final(), method)

    return check


class AutoMLClassifier(ClassifierMixin, _AutoML):  # type: ignore[misc]
    """Choose a classifier family and its hyperparameters by cross-validated search.

    Args:
        n_trials: configurations to evaluate (warm-start ones included); None with a
            ``timeout`` runs until it.
        timeout: seconds after which no new configuration starts.
        fit_timeout: seconds one fit of a configuration (on one fold) may take before it is
            stopped and the configuration fails; fits then run in worker processes
            (`HyperdialSearchCV`'s ``fit_timeout``). None: no limit.
        models: built-in family names (default all: ``logistic``, ``svc``, ``knn``,
            ``random_forest``, ``extra_trees``, ``hist_gradient_boosting``, ``mlp``), or
            ``(name, estimator, params)`` tuples of one's own, ``params`` as for
            `HyperdialSearchCV`.
        cv, n_jobs, verbose: as for `HyperdialSearchCV`.
        scoring: the one metric to maximise (the search's and the ensemble selection's): a
            scorer name, a scorer or a callable returning a number; default the estimator's
            ``score`` (accuracy). A list or dict of metrics is refused.
        sampler: default `create_study`'s default (`AutoSampler`), seeded from
            ``random_state``.
        pruner: ``"auto"`` stops a configuration after a fold when its running mean is worse
            than three in four completed ones (after 10 of them); None evaluates every fold;
            or any hyperdial pruner.
        warm_start: how many configurations to try first (see the module docstring); 0: none.
        portfolio: the configurations (in the study's names) to warm-start from after the
            earlier studies; None: the shipped one, learned offline.
        ensemble_size: rounds of ensemble selection over the best 25 completed
            configurations' out-of-fold predictions (see the module docstring); 0 or 1:
            predict with the best configuration alone.
        storage, study_name: keep the study (``"sqlite:///automl.db"``): a second ``fit`` with
            the same name resumes it (the ``best_*`` attributes then describe the whole
            study's best configuration, and the ensemble draws on it, cross-validated again
            when an earlier fit found it), and a search on another dataset warm-starts from it.

    Fitted attributes: ``best_estimator_`` (the refitted best pipeline), ``ensemble_`` (a
    `VotingEnsemble` of refitted pipelines, which then predicts, or None when the selection
    kept a single configuration), ``ensemble_members_`` (``trial``, ``model``, ``weight``,
    ``score`` of each member), ``best_model_``,
    ``best_params_`` (the study's names), ``best_score_``, ``study_``, ``search_`` (the
    `HyperdialSearchCV`, with ``cv_results_``), ``meta_features_``, ``warm_start_configs_``,
    ``classes_``. ``predict_proba`` and ``decision_function`` exist when what predicts has them
    (an ensemble has no ``decision_function``; a best model alone that is an SVC has no
    ``predict_proba``).
    """

    _task = "classification"

    @available_if(_final_has("predict_proba"))  # type: ignore[untyped-decorator]
    def predict_proba(self, X: Any) -> Any:
        return self._final().predict_proba(X)

    @available_if(_final_has("decision_function"))  # type: ignore[untyped-decorator]
    def decision_function(self, X: Any) -> Any:
        return self._final().decision_function(X)


class AutoMLRegressor(RegressorMixin, _AutoML):  # type: ignore[misc]
    """Choose a regressor family and its hyperparameters by cross-validated search.

    As `AutoMLClassifier`; the built-in families are ``ridge``, ``svr``, ``knn``,
    ``random_forest``, ``extra_trees``, ``hist_gradient_boosting`` and ``mlp``, and scoring
    defaults to R².
    """

    _task = "regression"


__all__ = ["FAMILIES", "AutoMLClassifier", "AutoMLRegressor", "Family", "cash_space",
           "meta_features", "preprocessor"]
