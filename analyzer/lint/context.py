"""Where a statement sits and what an HTTP answer says: the facts the checks share.

- :func:`answer_of`: a ``JSONResponse(status_code=503)``, ``HTTPException(503)`` or
  ``AppException(msg, status_code=503)`` call as an :class:`Answer` (status, headers);
- :class:`Parents` and :func:`enclosing`: the ``except`` handlers and ``if`` branches around a
  node, up to its function;
- :func:`classify_handler`: an ``except`` clause's exception types as gpu / ordinary / broad /
  other.
"""

from __future__ import annotations

import ast
import http
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from analyzer.lint.names import Names, last, strings_in
from analyzer.lint.walk import Index

GPU_MARKERS = ("cuda", "cudnn", "nvml", "nccl", "cublas", "cufft", "cusolver", "cusparse", "triton")
"""The fal SDK's marker words (fal/exceptions/gpu.py, ``_GPU_ERROR_MARKERS``, fal 1.83)."""

GPU_CONDITION_WORDS = (*GPU_MARKERS, "out of memory", "outofmemory", "oom", "gpu", "device-side")

RESPONSES = frozenset(
    {
        "Response",
        "JSONResponse",
        "PlainTextResponse",
        "HTMLResponse",
        "ORJSONResponse",
        "UJSONResponse",
        "StreamingResponse",
    }
)
HTTP_EXCEPTIONS = frozenset({"HTTPException"})
APP_EXCEPTIONS = frozenset({"AppException"})

GPU_TYPES = frozenset(
    {"OutOfMemoryError", "CUDAOutOfMemoryException", "GPUException", "GPUOutOfMemoryException"}
)
VALIDATION_TYPES = frozenset(
    {"ValidationError", "RequestValidationError", "JSONDecodeError", "UnidentifiedImageError"}
)
TIMEOUT_TYPES = frozenset(
    {
        "TimeoutError",
        "TimeoutException",
        "ReadTimeout",
        "ConnectTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "Timeout",
        "ServerTimeoutError",
        "DeadlineExceeded",
    }
)
ORDINARY_TYPES = frozenset(
    {
        "ValueError",
        "KeyError",
        "TypeError",
        "IndexError",
        "AttributeError",
        "LookupError",
        "NameError",
        "UnicodeError",
        "UnicodeDecodeError",
        "AssertionError",
        "NotImplementedError",
        "FileNotFoundError",
        "PermissionError",
        "ZeroDivisionError",
        "ArithmeticError",
        "OverflowError",
        "ConnectionError",
        "HTTPError",
        "HTTPStatusError",
        "RequestError",
        "RequestException",
        "ClientError",
        "ClientResponseError",
        "ConnectError",
        *VALIDATION_TYPES,
        *TIMEOUT_TYPES,
    }
)
BROAD_TYPES = frozenset({"Exception", "BaseException"})

_FUNC_OR_CLASS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class Parents:
    """Each node's parent in one module's tree (:class:`~analyzer.lint.walk.Index`)."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def of(self, node: ast.AST) -> ast.AST | None:
        return self.index.parent(node)

    def chain(self, node: ast.AST) -> Iterator[tuple[ast.AST, ast.AST]]:
        """(child, parent) pairs from ``node`` up to its function (excluded from nothing)."""
        child = node
        parent = self.of(child)
        while parent is not None:
            yield child, parent
            if isinstance(parent, _FUNC_OR_CLASS):
                return
            child, parent = parent, self.of(parent)

    def statement(self, node: ast.AST) -> ast.stmt:
        """The statement that holds ``node``."""
        n: ast.AST = node
        while not isinstance(n, ast.stmt):
            p = self.of(n)
            if p is None:
                raise ValueError("a node outside any statement")
            n = p
        return n


@dataclass
class Where:
    """What encloses a node inside its function: innermost first."""

    handlers: list[ast.ExceptHandler] = field(default_factory=list)
    branches: list[tuple[ast.If, bool]] = field(default_factory=list)
    """(if statement, True when the node is under the branch where the test holds)."""
    finally_of: list[ast.Try | ast.TryStar] = field(default_factory=list)


def enclosing(node: ast.AST, parents: Parents) -> Where:
    where = Where()
    for child, parent in parents.chain(node):
        if isinstance(parent, ast.ExceptHandler):
            where.handlers.append(parent)
        elif isinstance(parent, ast.If) and child is not parent.test:
            holds = child in parent.body
            if isinstance(parent.test, ast.UnaryOp) and isinstance(parent.test.op, ast.Not):
                holds = not holds
            where.branches.append((parent, holds))
        elif isinstance(parent, ast.Try | ast.TryStar) and child in parent.finalbody:
            where.finally_of.append(parent)
    return where


def handler_types(handler: ast.ExceptHandler, names: Names) -> list[str]:
    """Last names of the types an ``except`` catches ([] for a bare ``except:``)."""
    t = handler.type
    if t is None:
        return []
    items = t.elts if isinstance(t, ast.Tuple) else [t]
    return [last(names.qualname(i)) for i in items if names.qualname(i)]


def _gpu_name(name: str) -> bool:
    low = name.lower()
    return name in GPU_TYPES or any(w in low for w in ("cuda", "gpu", "oom", "outofmemory"))


def classify_handler(handler: ast.ExceptHandler, names: Names) -> str:
    """gpu, validation, timeout, ordinary, broad (Exception / bare) or other (RuntimeError...)."""
    types = handler_types(handler, names)
    if handler.type is None:
        return "broad"
    if any(_gpu_name(t) for t in types):
        return "gpu"
    if any(t in VALIDATION_TYPES for t in types):
        return "validation"
    if any(t in TIMEOUT_TYPES for t in types):
        return "timeout"
    if any(t in ORDINARY_TYPES for t in types):
        return "ordinary"
    if any(t in BROAD_TYPES for t in types):
        return "broad"
    return "other"


_FAULT = re.compile(
    r"out of memory|outofmemory|\boom\b|device-side|illegal memory|cuda error|cudnn_status"
    r"|nccl error|gpu error|gpu fault"
)


def mentions_gpu(node: ast.AST) -> bool:
    text = strings_in(node)
    return any(w in text for w in GPU_CONDITION_WORDS)


def is_fault_test(test: ast.AST, where: Where) -> bool:
    """A condition that tests for a GPU fault: it names one ("out of memory", "CUDA error"...),
    or it looks for a GPU word in the exception being handled (``"cuda" in str(e)``). A test
    of the input (``device != "cuda:0"``) is not one."""
    text = strings_in(test)
    if _FAULT.search(text):
        return True
    caught = {h.name for h in where.handlers if h.name}
    used = {n.id for n in ast.walk(test) if isinstance(n, ast.Name)}
    return bool(caught & used) and any(w in text for w in GPU_CONDITION_WORDS)


def under_gpu_condition(where: Where) -> bool:
    """True when an enclosing ``if`` that tests for a GPU / OOM fault holds at the node."""
    return any(holds and is_fault_test(branch.test, where) for branch, holds in where.branches)


@dataclass(frozen=True)
class Answer:
    """An HTTP answer written in the code."""

    call: ast.Call
    status: int
    headers: dict[str, object] | None
    """Header names lower-cased -> literal values; None when not literal."""
    kind: str


def status_value(node: ast.AST | None, names: Names) -> int | None:
    if node is None:
        return None
    v = names.value(node)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(node, ast.Attribute):
        m = re.match(r"HTTP_(\d{3})", node.attr)
        if m:
            return int(m.group(1))
        try:
            return int(http.HTTPStatus[node.attr])
        except KeyError:
            return None
    return None


def _headers(node: ast.AST | None, names: Names) -> dict[str, object] | None:
    if node is None:
        return {}
    if not isinstance(node, ast.Dict):
        return None
    out: dict[str, object] = {}
    for k, v in zip(node.keys, node.values, strict=True):
        key = names.value(k) if k is not None else None
        if isinstance(key, str):
            out[key.lower()] = names.value(v)
    return out


def _arg(call: ast.Call, index: int, keyword: str) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == keyword:
            return k.value
    return call.args[index] if len(call.args) > index else None


def answer_of(call: ast.Call, names: Names) -> Answer | None:
    """The answer a call builds, when it is a response or an HTTP / app exception."""
    name = last(names.qualname(call.func))
    if name in RESPONSES:
        status = status_value(_arg(call, 1, "status_code"), names)
        kind = "response"
        headers = _headers(_arg(call, 2, "headers"), names)
    elif name in HTTP_EXCEPTIONS:
        status = status_value(_arg(call, 0, "status_code"), names)
        kind = "http_exception"
        headers = _headers(_arg(call, 2, "headers"), names)
    elif name in APP_EXCEPTIONS:
        status = status_value(_arg(call, 1, "status_code"), names)
        kind = "app_exception"
        headers = {}
    else:
        return None
    if status is None:
        return None
    return Answer(call=call, status=status, headers=headers, kind=kind)


def header_is(answer: Answer, name: str, values: tuple[str, ...]) -> bool:
    if not answer.headers:
        return False
    v = answer.headers.get(name)
    return v is not None and str(v).strip().lower() in values


TRUE_VALUES = ("1", "true", "yes")
FALSE_VALUES = ("0", "false", "no")


def short(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"
