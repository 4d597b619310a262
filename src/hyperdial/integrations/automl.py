"""AutoML over scikit-learn models: pick the model family and its hyperparameters together.

`AutoMLClassifier` and `AutoMLRegressor` search one conditional space (the CASH problem:
combined algorithm selection and hyperparameter optimisation): a categorical ``model`` picks a
family (linear, SVM, k-NN, random forest, extra trees, histogram gradient boosting, MLP), and
only that family's hyperparameters exist in the trial, as ``<family>__<name>``; a ``scaler``
exists for the families that need scaled inputs. Missing values are imputed, and pandas
categorical or string columns one-hot encoded, in front of every model.

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
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, RobustScaler, StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
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
from hyperdial.integrations.sklearn import HyperdialSearchCV, _Candidate  # noqa: E402
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
    the share of categorical columns and of missing values, and for classification the number
    of classes and the entropy of their frequencies (1 = balanced)."""
    n, d = X.shape
    numeric = np.asarray(X.select_dtypes("number") if _is_frame(X) else X, dtype=float)
    categorical = d - numeric.shape[1]
    out = {"log_samples": math.log(n), "log_features": math.log(d),
           "categorical_share": categorical / d,
           "missing_share": float(np.isnan(numeric).mean()) if numeric.size else 0.0}
    if task == "classification":
        _, counts = np.unique(np.asarray(y), return_counts=True)
        freq = counts / counts.sum()
        k = len(counts)
        out["log_classes"] = math.log(k)
        out["class_entropy"] = float(-(freq * np.log(freq)).sum() / math.log(k)) if k > 1 else 0.0
    return out


def preprocessor(X: Any) -> Any:
    """Median imputation for numbers and one-hot codes for other columns (pandas input)."""
    impute = SimpleImputer(strategy="median", keep_empty_features=True)
    if _is_frame(X) and X.select_dtypes("number").shape[1] < X.shape[1]:
        return ColumnTransformer([
            ("numbers", impute, make_column_selector(dtype_include="number")),
            ("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             make_column_selector(dtype_exclude="number")),
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
    ensemble."""

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **HyperdialSearchCV._parameter_constraints, "param_distributions": [ParamSpace]}
    _keep_predictions = True
    prepare: Callable[[Study], None] | None = None

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


class _AutoML(BaseEstimator):  # type: ignore[misc]
    """What the classifier and the regressor share; see `AutoMLClassifier`."""

    _task: ClassVar[str]
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {}
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

    def fit(self, X: Any, y: Any) -> _AutoML:
        """Search the families and their hyperparameters, then refit the best on all data."""
        for name in ("warm_start", "ensemble_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if self.pruner not in ("auto", None) and not hasattr(self.pruner, "decide"):
            raise ValueError(f"pruner must be 'auto', None or a pruner, got {self.pruner!r}")
        families = _families(self._task, self.models)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        space = cash_space(families, seed)
        pipeline = Pipeline([("prep", preprocessor(X)), ("scale", "passthrough"),
                             ("model", next(iter(families.values())).make(seed))])
        # Stop a configuration when its running mean after a fold is worse than three in four
        # completed ones at that fold (the folds are the same for every configuration); the
        # median rule cost accuracy in benchmarks/sklearn_search.py, one fold being noisy.
        pruner = (PercentilePruner(75.0, n_startup_trials=10) if isinstance(self.pruner, str)
                  else self.pruner)  # (a string is "auto": checked above)
        self.meta_features_ = meta_features(X, y, self._task)
        search = _CashSearchCV(
            pipeline, space, n_trials=self.n_trials, timeout=self.timeout,
            fit_timeout=self.fit_timeout,
            sampler=self.sampler, pruner=pruner, scoring=self.scoring, n_jobs=self.n_jobs,
            cv=self.cv, verbose=self.verbose, random_state=seed, storage=self.storage,
            study_name=self.study_name, error_score=np.nan)
        self.warm_start_configs_: list[dict[str, Any]] = []
        search.prepare = lambda study: self._prepare(study, space)
        with warnings.catch_warnings():
            # An MLP stopped at max_iter is a configuration like any other, not news.
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
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
        return self

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
        """Ensemble selection over the search's best configurations, its members refitted on
        all the data; (None, []) when it picks a single one, which `best_estimator_` is
        already, or when the splitter's test folds do not cover every sample once."""
        if self.ensemble_size < 2 or len(search.kept_) < 2:
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
        scorer = search.scorer_
        if isinstance(scorer, Mapping):
            scorer = scorer[search.refit]
        counts = ensemble_selection(oof, scorer_of(scorer, y, classes),  # type: ignore[arg-type]
                                    self.ensemble_size)
        chosen = [(int(n), c) for n, c in zip(counts, search.kept_, strict=True) if n > 0]
        if len(chosen) < 2:
            return None, []
        members = Parallel(n_jobs=self.n_jobs)(
            delayed(_refit)(search.estimator, c.params, X, y) for _, c in chosen)
        rounds = sum(n for n, _ in chosen)
        weights = [n / rounds for n, _ in chosen]
        metric = search.refit if isinstance(search.refit, str) else None
        trials = {t.number: t for t in search.study_.trials}
        rows = [{"trial": c.number, "model": trials[c.number].params[MODEL],
                 "weight": w, "score": c.value(metric)}
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
        cv, scoring, n_jobs, verbose: as for `HyperdialSearchCV` (scoring defaults to the
            estimator's ``score``: accuracy).
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
            the same name resumes it, and a search on another dataset warm-starts from it.

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
