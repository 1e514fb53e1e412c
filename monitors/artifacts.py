"""Model artifacts: a fitted scikit-learn model stored as bytes with its driftwarden model.

An artifact is written with :func:`skops.io.dumps` and read back with
:func:`skops.io.loads`. skops never unpickles: it rebuilds objects from a schema and
refuses every type it does not trust. :func:`load_artifact` trusts a fixed allow-list
(objects *defined* in scikit-learn, a few numpy types) plus the caller's explicit
``trusted`` list, and raises :class:`ArtifactError` naming anything else. A plain
``pickle``/``joblib`` load of a file is never done: unpickling runs arbitrary code.

Models that are not scikit-learn objects are not stored at all: the Python SDK can hand
the explain analyzer a scoring function (``Callable[[pd.DataFrame], np.ndarray]``)
in-process instead (see ``docs/explanations.md``).
"""

from __future__ import annotations

import importlib
import zipfile
from collections.abc import Sequence
from typing import Final

import skops.io as sio

from monitors.errors import MonitorError

__all__ = ["TRUSTED_NUMPY_TYPES", "ArtifactError", "dump_artifact", "load_artifact"]

#: numpy names that are trusted in an artifact (besides what skops trusts by default).
TRUSTED_NUMPY_TYPES: Final[frozenset[str]] = frozenset(
    {
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.bool_",
        "numpy.float16",
        "numpy.float32",
        "numpy.float64",
        "numpy.int8",
        "numpy.int16",
        "numpy.int32",
        "numpy.int64",
        "numpy.uint8",
        "numpy.uint16",
        "numpy.uint32",
        "numpy.uint64",
        "numpy.str_",
        "numpy.random.mtrand.RandomState",
        "numpy.random._mt19937.MT19937",
    }
)

_SKLEARN_PREFIX: Final = "sklearn."


class ArtifactError(MonitorError, ValueError):
    """Raised when model artifact bytes cannot be written, read or trusted."""


def dump_artifact(model: object) -> bytes:
    """Serialise a fitted scikit-learn model (estimator or Pipeline) with skops.

    Parameters
    ----------
    model : object
        A fitted scikit-learn estimator or :class:`~sklearn.pipeline.Pipeline`.

    Returns
    -------
    bytes
        The skops archive; store it with the model and read it with :func:`load_artifact`.

    Raises
    ------
    ArtifactError
        If skops cannot serialise the object (for example a lambda inside a
        ``FunctionTransformer``).

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0])
    >>> load_artifact(dump_artifact(model)).coef_.tolist()
    [2.0]
    """
    try:
        return sio.dumps(model)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(
            f"Model artifact: cannot serialise {type(model).__module__}.{type(model).__qualname__} "
            f"with skops: {exc}"
        ) from exc


def _defined_in_sklearn(name: str) -> bool:
    """Whether ``name`` resolves to an object whose defining module is inside scikit-learn."""
    if not name.startswith(_SKLEARN_PREFIX):
        return False
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        module = getattr(obj, "__module__", None)
        return isinstance(module, str) and (module == "sklearn" or module.startswith("sklearn."))
    return False


def _is_allowed(name: str) -> bool:
    """Whether a type name reported by skops is on driftwarden's allow-list."""
    return name in TRUSTED_NUMPY_TYPES or _defined_in_sklearn(name)


def load_artifact(data: bytes, *, trusted: Sequence[str] = ()) -> object:
    """Load a model artifact written by :func:`dump_artifact`, trusting only known types.

    The types skops reports as untrusted (:func:`skops.io.get_untrusted_types`) are
    accepted if they are defined in scikit-learn (``sklearn.…``, e.g. the
    ``TreePredictor`` of HistGradientBoosting or ``sklearn.tree._tree.Tree``), are one
    of :data:`TRUSTED_NUMPY_TYPES`, or are listed in ``trusted``. A name under
    ``sklearn.`` that resolves to an object defined elsewhere (a re-export) is refused.

    Parameters
    ----------
    data : bytes
        The skops archive.
    trusted : sequence of str, default ()
        Further fully qualified type names the caller vouches for
        (``"mypackage.MyTransformer"``).

    Returns
    -------
    object
        The fitted model.

    Raises
    ------
    ArtifactError
        If ``data`` is not a skops archive, or it holds types that are not trusted (the
        message names them).
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ArtifactError(f"Model artifact: expected bytes, got {type(data).__name__}.")
    data = bytes(data)
    if not data:
        raise ArtifactError("Model artifact: expected a skops archive, got 0 bytes.")
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise ArtifactError(
            f"Model artifact: expected a skops archive (a zip file written by dump_artifact), "
            f"got {len(data)} bytes that cannot be read: {exc}"
        ) from exc
    allowed = set(trusted)
    refused = sorted(name for name in untrusted if name not in allowed and not _is_allowed(name))
    if refused:
        raise ArtifactError(
            f"Model artifact: refusing to load untrusted types {refused}; expected only "
            "scikit-learn/numpy types or types passed in 'trusted'."
        )
    try:
        return sio.loads(data, trusted=list(untrusted))
    except Exception as exc:  # a corrupt archive fails in many ways inside skops
        raise ArtifactError(f"Model artifact: cannot load the skops archive: {exc}") from exc
