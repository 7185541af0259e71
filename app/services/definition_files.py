"""The files of a definition as the modeler sends and downloads them: a .bpmn with its forms and library
files, or one zip of them; and the forms a draft omits, taken from the latest version of its key.

A zip is read in memory only (nothing extracted to disk), refused when it holds more than
`MAX_ZIP_ENTRIES` files or more than `MAX_ZIP_BYTES` uncompressed, when any entry is larger than the
deploy caps (2 MiB a BPMN file, 256 KiB a form) — sizes checked before reading and again while reading,
so a zip that lies in its headers is caught — or when a name climbs out (`..`, absolute). Layout:
`<key>.bpmn` at the top, `forms/*.json` (or `*.json` at the top), `library/*.bpmn` (call activities).
"""

from __future__ import annotations

import io
import json
import posixpath
import zipfile
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import engine
from app.errors import Invalid
from app.models import ProcessDefinition

MAX_ZIP_BYTES = 16 * 1024 * 1024
MAX_ZIP_ENTRIES = 200
MAX_BPMN_BYTES = 2 * 1024 * 1024
MAX_FORM_BYTES = 256 * 1024
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class DefinitionFiles:
    bpmn: bytes
    forms: dict[str, bytes] = field(default_factory=dict)
    library: dict[str, bytes] = field(default_factory=dict)
    taken: tuple[str, ...] = ()  # files taken from the latest version because the upload omitted them


def _refuse(message: str) -> Invalid:
    return Invalid(message, {"file": message})


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    if info.file_size > cap:
        raise _refuse(f"压缩包中的 {info.filename} 超过 {cap // 1024} KiB")
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise _refuse(f"压缩包中的 {info.filename} 超过 {cap // 1024} KiB")
    return data


def unpack_zip(data: bytes) -> DefinitionFiles:
    """The BPMN, forms and library files of a zip (see the module docstring for the limits)."""
    if len(data) > MAX_ZIP_BYTES:
        raise _refuse(f"压缩包超过 {MAX_ZIP_BYTES // 1024 // 1024} MiB")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _refuse("压缩包无法读取（不是有效的 zip 文件）") from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise _refuse(f"压缩包中的文件超过 {MAX_ZIP_ENTRIES} 个")
    if sum(i.file_size for i in infos) > MAX_ZIP_BYTES:
        raise _refuse(f"压缩包解压后超过 {MAX_ZIP_BYTES // 1024 // 1024} MiB")
    main: dict[str, bytes] = {}
    forms: dict[str, bytes] = {}
    library: dict[str, bytes] = {}
    try:
        for info in infos:
            name = info.filename.replace("\\", "/")
            if name.startswith("/") or ".." in name.split("/"):
                raise _refuse(f"压缩包中的文件名 {info.filename} 不允许（不能含 .. 或以 / 开头）")
            folder, base = posixpath.split(name)
            if base.startswith(".") or folder.startswith("__MACOSX"):
                continue
            if base.endswith(".bpmn") and folder in ("", "library"):
                (main if folder == "" else library)[base] = _read(archive, info, MAX_BPMN_BYTES)
            elif base.endswith(".json") and folder in ("", "forms"):
                forms[base] = _read(archive, info, MAX_FORM_BYTES)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError):
        raise _refuse("压缩包无法读取（损坏、加密或不支持的压缩方式）") from None
    if len(main) != 1:
        found = "、".join(sorted(main)) or "无"
        raise _refuse(f"压缩包顶层必须恰好有一个 .bpmn 文件（找到：{found}）；调用活动的文件放在 library/ 下")
    return DefinitionFiles(next(iter(main.values())), forms, library)


def read_upload(data: bytes, forms: dict[str, bytes], library: dict[str, bytes]) -> DefinitionFiles:
    """An uploaded .bpmn with its forms and library files, or a zip of them (files sent beside a zip win)."""
    if data.startswith(ZIP_MAGIC):
        packed = unpack_zip(data)
        return DefinitionFiles(packed.bpmn, {**packed.forms, **forms}, {**packed.library, **library})
    return DefinitionFiles(data, dict(forms), dict(library))


def to_zip(key: str, bpmn: bytes, forms: dict[str, bytes], library: dict[str, bytes]) -> bytes:
    """One version as a zip in the layout `unpack_zip` reads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{key}.bpmn", bpmn)
        for name, data in sorted(forms.items()):
            archive.writestr(f"forms/{name}", data)
        for name, data in sorted(library.items()):
            archive.writestr(f"library/{name}", data)
    return buffer.getvalue()


def stored_forms(row: ProcessDefinition) -> dict[str, bytes]:
    """A version's forms as files (pretty JSON)."""
    return {name: json.dumps(schema, ensure_ascii=False, indent=2).encode("utf-8")
            for name, schema in json.loads(row.forms_json).items()}


def stored_library(row: ProcessDefinition, stock: dict[str, bytes]) -> dict[str, bytes]:
    """A version's call-activity files; versions stored before they were kept take the stock files."""
    if row.library_json is None:
        return {name: data for name, data in stock.items() if name != f"{row.key}.bpmn"}
    return {name: text.encode("utf-8") for name, text in json.loads(row.library_json).items()}


def _outline(data: bytes, name: str) -> engine.Outline:
    try:
        return engine.outline(data, name)
    except engine.DefinitionInvalid as e:
        raise Invalid(f"流程定义无效({e.element_id}):{e.message}", {"element": e.element_id}) from e


def complete_files(session: Session, files: DefinitionFiles, stock: dict[str, bytes]) -> DefinitionFiles:
    """Forms the BPMN names but the upload omits, and library files it omits, from the latest version of
    the same key (a draft edited in the modeler sends only what it changed)."""
    shape = _outline(files.bpmn, "definition")
    keys = shape.executable or shape.processes
    latest = session.scalar(select(ProcessDefinition).where(ProcessDefinition.key.in_(keys))
                            .order_by(ProcessDefinition.version.desc()).limit(1)) if keys else None
    if latest is None:
        return files
    taken: list[str] = []
    library = dict(files.library)
    named = list(shape.forms)
    defined = set(shape.processes)
    for name, data in library.items():
        found = _outline(data, name)
        defined.update(found.processes)
        named.extend(found.forms)
    for name, data in stored_library(latest, stock).items():
        if name in library:
            continue
        found = _outline(data, name)
        if found.processes and not set(found.processes) & defined:
            library[name] = data
            defined.update(found.processes)
            named.extend(found.forms)
            taken.append(f"library/{name}")
    forms = dict(files.forms)
    old_forms = stored_forms(latest)
    for name in dict.fromkeys(named):
        if name not in forms and name in old_forms:
            forms[name] = old_forms[name]
            taken.append(f"forms/{name}")
    return DefinitionFiles(files.bpmn, forms, library, tuple(taken))
