#!/usr/bin/env python3
"""Decode and validate chainwatch bus envelopes (version 1) without any chainwatch code.

Usage: decode.py FILE      (FILE holds newline-delimited envelopes, one JSON object per line;
                            `-` reads standard input; blank lines are skipped)
       decode.py --records FILE
                           (FILE holds Kafka records of one partition in offset order, one JSON
                            object per line: {"headers": {name: text}, "value_base64": "..."},
                            as a Kafka tool dumps them; split envelopes are reassembled from
                            their `chainwatch-part: i/n` headers, as the contract README says)

Each envelope is checked against ../envelope.schema.json (relative to this script) and
summarized on one line of standard output:

    seq=7 chain=evm:1 type=apply height=11098450 txs=185
    seq=8 chain=evm:1 type=finality

followed, once every line is valid, by one JSON line of counts per event type:

    {"apply": 1, "revert": 0, "finality": 1, "heartbeat": 0}

On the first invalid envelope it prints one line to standard error naming the line number, the
JSON path of the offending value and the schema path of the rule it breaks, and exits 1. Usage,
I/O and schema-file problems exit 2; an internal error exits 3.

Where plain JSON Schema validation in Python is looser than chainwatch's own (Rust, serde)
decoder, this script follows the Rust decoder: integers must be written without a fraction or
exponent (`1.0` is not a valid `seq`), NaN, Infinity and duplicate object keys are rejected,
and an envelope whose `v` is not 1 is rejected as an unknown version.

Needs Python 3.8+ and the `jsonschema` package (4.0 or newer) only.
"""

import json
import math
import sys
from pathlib import Path

try:
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import SchemaError
except ImportError:  # pragma: no cover - depends on the machine
    print("decode.py: the `jsonschema` package (>= 4.0) is required: pip install jsonschema",
          file=sys.stderr)
    sys.exit(2)

ENVELOPE_VERSION = 1
EVENT_TYPES = ("apply", "revert", "finality", "heartbeat")
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "envelope.schema.json"
MAX_MESSAGE = 300


def die(message):
    """Usage, I/O and schema-file problems: not a verdict on the input, so exit 2."""
    print(f"decode.py: {message}", file=sys.stderr)
    sys.exit(2)


class InvalidEnvelope(Exception):
    """The envelope on one line is unacceptable; str() is the whole explanation."""


# --- JSON parsing as strict as serde_json ------------------------------------------------


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text} is out of range")
    return value


def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r} in an object")
        obj[key] = value
    return obj


def parse_line(text):
    """Parses one line of JSON, rejecting what serde_json rejects (NaN, duplicate keys, ...)."""
    return json.loads(
        text,
        parse_constant=_reject_constant,
        parse_float=_finite_float,
        object_pairs_hook=_no_duplicate_keys,
    )


# --- Schema validation ----------------------------------------------------------------------


def _is_integer(_checker, instance):
    # JSON Schema counts 1.0 as an integer; serde (and so chainwatch) does not.
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def load_validator(path):
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        StrictValidator.check_schema(schema)
    except (OSError, ValueError, SchemaError) as e:
        die(f"cannot load the schema {path}: {e}")
    return StrictValidator(schema), _pointers(schema)


def _pointers(schema):
    """Maps id() of every subschema object to its JSON pointer in the schema file."""
    out = {}

    def walk(node, pointer):
        if isinstance(node, dict):
            out[id(node)] = pointer
            for key, value in node.items():
                walk(value, f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{pointer}/{i}")

    walk(schema, "#")
    return out


_WEAK = ("anyOf", "oneOf")


def _is_branch_mismatch(error):
    """Whether a oneOf/anyOf branch failed only because it is the wrong variant: the instance
    is of another JSON type, or the event `type` discriminator names another event."""
    path = list(error.relative_path)
    if error.validator == "type" and not path:
        return True
    return error.validator == "const" and path == ["type"]


def most_relevant(errors):
    """The error to report: a concrete rule (not a bare oneOf/anyOf) at the shallowest path,
    descending into a oneOf/anyOf when exactly one branch is of the right variant."""
    errors = list(errors)
    if not errors:
        return None
    best = min(errors, key=lambda e: (e.validator in _WEAK, len(e.path)))
    if best.validator in _WEAK and best.context:
        by_branch = {}
        for sub in best.context:
            by_branch.setdefault(sub.relative_schema_path[0], []).append(sub)
        candidates = [
            subs for subs in by_branch.values() if not any(_is_branch_mismatch(s) for s in subs)
        ]
        if len(candidates) == 1:
            return most_relevant(candidates[0])
    return best


def _clip(text):
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def describe(error, pointers):
    schema_path = "/".join(str(p) for p in error.absolute_schema_path)
    where = pointers.get(id(error.schema))
    defined = f", rule at {SCHEMA_PATH.name}{where}/{error.validator}" if where else ""
    return (
        f"invalid envelope at {error.json_path}: {_clip(error.message)} "
        f"(schema path: {schema_path}{defined})"
    )


def check(envelope, validator, pointers):
    """Raises InvalidEnvelope unless `envelope` is a valid version-1 envelope."""
    if isinstance(envelope, dict):
        v = envelope.get("v")
        if _is_integer(None, v) and v != ENVELOPE_VERSION:
            raise InvalidEnvelope(
                f"unknown envelope version {v}, this decoder reads version {ENVELOPE_VERSION} "
                f"(schema path: properties/v/const)"
            )
    error = most_relevant(validator.iter_errors(envelope))
    if error is not None:
        raise InvalidEnvelope(describe(error, pointers))


# --- Summaries ------------------------------------------------------------------------------


def summarize(envelope):
    event = envelope["event"]
    line = f"seq={envelope['seq']} chain={envelope['chain']} type={event['type']}"
    if event["type"] == "apply":
        block = event["block"]
        line += f" height={block['ref']['height']} txs={len(block['txs'])}"
    return line


def lines_of(name):
    if name == "-":
        return sys.stdin.buffer
    try:
        return open(name, "rb")  # noqa: SIM115 - closed by the caller's `with`
    except OSError as e:
        die(f"cannot open {name}: {e.strerror}")


def parse_part(text):
    """`chainwatch-part` header value `i/n` -> (i, n), or InvalidEnvelope."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise InvalidEnvelope(f"bad chainwatch-part header {text!r}: expected <index>/<count>")
    if not 0 <= index < count:
        raise InvalidEnvelope(f"bad chainwatch-part header {text!r}: index must be below count")
    return index, count


def envelopes_of_records(source):
    """Yields (record number, envelope bytes) from a record dump, reassembling split envelopes.

    A run of parts is `chainwatch-part: 0/n` .. `n-1/n` with one `chainwatch-seq`; a part 0
    interrupting an unfinished run replaces it (its publisher restarted), and parts that
    continue no run are dropped.
    """
    import base64

    run = None  # (seq, count, next index, bytearray)
    for number, raw in enumerate(source, start=1):
        if not raw.strip():
            continue
        record = json.loads(raw)
        headers = record.get("headers") or {}
        value = base64.b64decode(record["value_base64"])
        part = headers.get("chainwatch-part")
        if part is None:
            run = None
            yield number, value
            continue
        index, count = parse_part(part)
        seq = headers.get("chainwatch-seq")
        if index == 0:
            run = (seq, count, 0, bytearray())
        if run is None or run[0] != seq or run[1] != count or run[2] != index:
            run = None
            continue
        run[3].extend(value)
        run = (run[0], run[1], run[2] + 1, run[3])
        if run[2] == run[1]:
            yield number, bytes(run[3])
            run = None


def main(argv):
    records = len(argv) == 3 and argv[1] == "--records"
    if not (len(argv) == 2 or records) or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    name = argv[-1]
    validator, pointers = load_validator(SCHEMA_PATH)
    counts = dict.fromkeys(EVENT_TYPES, 0)
    with lines_of(name) as source:
        numbered = envelopes_of_records(source) if records else enumerate(source, start=1)
        for number, raw in numbered:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                print(f"decode.py: {name} line {number}: not UTF-8: {e}", file=sys.stderr)
                return 1
            if not text.strip():
                continue
            try:
                envelope = parse_line(text)
                check(envelope, validator, pointers)
            except ValueError as e:  # json.JSONDecodeError is a ValueError
                print(f"decode.py: {name} line {number}: not valid JSON: {e}", file=sys.stderr)
                return 1
            except InvalidEnvelope as e:
                print(f"decode.py: {name} line {number}: {e}", file=sys.stderr)
                return 1
            counts[envelope["event"]["type"]] += 1
            print(summarize(envelope))
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception:  # a bug here, not a verdict on the input: keep exit 1 for that
        import traceback

        traceback.print_exc()
        sys.exit(3)
