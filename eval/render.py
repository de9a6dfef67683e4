"""Turn the report dictionary into sections, then into Markdown and one self-contained HTML file.

A section is a title plus blocks: ``Table`` (header + rows), ``Text`` or ``Image`` (a data URI).
Markdown leaves images out and points to ``report.html``; HTML inlines everything (CSS included),
so the file opens in any browser without network access.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from warp_synth.usage import FEATURES

SUMMARY_ROWS: tuple[tuple[str, str], ...] = (
    ("records", "records"),
    ("corrupt_lines", "corrupt lines"),
    ("exact_dup_rate", "exact dup rate"),
    ("alpha_dup_rate", "alpha dup rate"),
    ("near_dup_rate", "near dup rate (Jaccard >= 0.8)"),
    ("skeleton_unique_ratio", "skeleton unique ratio"),
    ("distinct_n.1", "distinct-1"),
    ("distinct_n.2", "distinct-2"),
    ("distinct_n.3", "distinct-3"),
    ("distinct_n.4", "distinct-4"),
    ("vendi", "Vendi score"),
    ("vendi_sample", "Vendi sample size"),
    ("builtin_coverage.used", "builtins used"),
    ("builtin_coverage.ratio", "builtin coverage"),
    ("builtin_coverage.entropy", "builtin entropy (bits)"),
    ("dtype_coverage.used", "dtypes used"),
    ("feature_coverage.used", "control-flow features used"),
    ("unparsed_sources", "sources that do not parse"),
    ("execution.execution_rate", "execution rate (passed CPU run)"),
    ("execution.adjoint_pass_rate", "adjoint pass rate (of executed)"),
    ("execution.adjoint_checked_pass_rate", "adjoint pass rate (passed / passed + failed)"),
)
EXECUTION_HEADER = ["records", "executed", "execution rate", "adjoint passed", "failed", "not differentiable",
                    "skipped", "not executed", "adjoint pass rate", "checked pass rate"]


@dataclass(slots=True)
class Table:
    header: list[str]
    rows: list[list[object]]


@dataclass(slots=True)
class Text:
    text: str


@dataclass(slots=True)
class Image:
    uri: str
    alt: str


@dataclass(slots=True)
class Section:
    title: str
    blocks: list[Table | Text | Image] = field(default_factory=list)


def _get(d: dict, dotted: str) -> object:
    for part in dotted.split("."):
        d = d.get(part, "") if isinstance(d, dict) else ""
    return d


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4f}".rstrip("0").rstrip(".")
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v) if v else "-"
    return str(v)


def build_sections(report: dict, plots: dict[str, str]) -> list[Section]:
    columns = list(report["datasets"]) + ([report["reference"]] if report.get("reference") else [])
    names = [c["name"] + (" (reference)" if c is report.get("reference") else "") for c in columns]
    secs: list[Section] = []

    s = Section("Summary", [Table(["metric", *names], [[label, *(_get(c, k) for c in columns)]
                                                        for k, label in SUMMARY_ROWS])])
    for c in columns:
        if c["corrupt_examples"]:
            s.blocks.append(Text(f"{c['name']}: first corrupt lines: " + "; ".join(c["corrupt_examples"])))
    secs.append(s)

    s = Section("Categories")
    cats = sorted({k for c in columns for k in c["categories"]})
    s.blocks.append(Table(["category", *names], [[k, *(c["categories"].get(k, 0) for c in columns)] for k in cats]))
    if "category_mix" in plots:
        s.blocks.append(Image(plots["category_mix"], "category mix"))
    secs.append(s)

    for c in report["datasets"]:
        s = Section(f"By origin: {c['name']}")
        origins = list(c["by_origin"])
        rows = [[label, *(_get(c["by_origin"][o], k) for o in origins)] for k, label in SUMMARY_ROWS
                if k != "corrupt_lines"]
        s.blocks.append(Table(["metric", *origins], rows))
        if f"origin:{c['name']}" in plots:
            s.blocks.append(Image(plots[f"origin:{c['name']}"], f"metrics per origin, {c['name']}"))
        secs.append(s)

    secs.append(_execution_section(report))

    s = Section("Builtins, dtypes and control-flow features")
    if "builtins" in plots:
        s.blocks.append(Image(plots["builtins"], "builtin usage"))
    s.blocks.append(Table(["feature (records using)", *names],
                          [[f, *(c["feature_coverage"]["records_using"].get(f, 0) for c in columns)]
                           for f in FEATURES]))
    dts = sorted({k for c in columns for k in c["dtype_coverage"]["records_using"]})
    s.blocks.append(Table(["dtype (records using)", *names],
                          [[d, *(c["dtype_coverage"]["records_using"].get(d, 0) for c in columns)] for d in dts]))
    secs.append(s)

    if report.get("reference_gaps"):
        s = Section(f"What the reference uses that a dataset lacks ({report['reference']['name']})")
        s.blocks.append(Table(["dataset", "builtins missing", "dtypes missing", "features missing"],
                              [[g["dataset"], g["builtins_missing"], g["dtypes_missing"], g["features_missing"]]
                               for g in report["reference_gaps"]]))
        secs.append(s)

    if report.get("contamination_reference"):
        secs.append(_contamination_section(report))

    s = Section("Lengths and IR")
    s.blocks.append(Table(["length", *names], [[f"{k} {q}", *(c["lengths"][k][q] for c in columns)]
                                              for k in ("python_lines", "ir_cpu_lines")
                                              for q in ("min", "p50", "p90", "max", "mean")]))
    if "lengths" in plots:
        s.blocks.append(Image(plots["lengths"], "length distributions"))
    for c in columns:
        hdr = ["category", "records", "cpu fwd lines", "cpu bwd lines", "cpu bwd/fwd",
               "cuda fwd lines", "cuda bwd lines", "cuda bwd/fwd"]
        keys = ["records", "cpu_forward_lines", "cpu_backward_lines", "cpu_backward_forward_ratio",
                "cuda_forward_lines", "cuda_backward_lines", "cuda_backward_forward_ratio"]
        s.blocks.append(Text(f"IR statistics, {c['name']} (mean lines per record)"))
        s.blocks.append(Table(hdr, [[cat, *(row[k] for k in keys)] for cat, row in c["ir"].items()]))
    secs.append(s)

    s = Section("Skeleton clusters")
    s.blocks.append(Table(["cluster size", *names],
                          [[k, *(c["skeleton_cluster_sizes"].get(k, 0) for c in columns)]
                           for k in sorted({k for c in columns for k in c["skeleton_cluster_sizes"]}, key=int)]))
    if "skeletons" in plots:
        s.blocks.append(Image(plots["skeletons"], "skeleton cluster sizes"))
    secs.append(s)
    return secs


def _execution_row(label: str, e: dict) -> list[object]:
    a = e["adjoint"]
    return [label, e["records"], e["executed"], e["execution_rate"], a["passed"], a["failed"],
            a["not_differentiable"], a["skipped"], a["not_executed"], e["adjoint_pass_rate"],
            e["adjoint_checked_pass_rate"]]


def _execution_section(report: dict) -> Section:
    s = Section("Execution and adjoints")
    s.blocks.append(Text("executed: the kernel ran on the CPU with the record's stored test vectors and passed "
                         "every check (execution.status 'passed'); adjoint: execution.grad.status, checked "
                         "against central finite differences; adjoint pass rate = passed / executed, checked "
                         "pass rate = passed / (passed + failed)."))
    for c in report["datasets"]:
        if "execution" not in c:
            continue
        s.blocks.append(Text(f"{c['name']}: per category and per origin"))
        rows = [_execution_row(cat, e) for cat, e in c["execution_by_category"].items()]
        rows.append(_execution_row("(all)", c["execution"]))
        rows += [_execution_row(f"origin: {o}", r["execution"]) for o, r in c["by_origin"].items()]
        s.blocks.append(Table(["scope", *EXECUTION_HEADER], rows))
    return s


def _contamination_section(report: dict) -> Section:
    ref = report["contamination_reference"]
    s = Section(f"Contamination against the reference ({ref['path']})")
    s.blocks.append(Text(
        f"Reference: {ref['kernels']} kernels ({ref['form']}, {ref['sources']} sources read, {ref['skipped']} "
        f"without a kernel).  A record is contaminated when one of its kernels (with the helpers it uses) has "
        f"the normalised source of a reference kernel (exact: names, comments and layout ignored), its "
        f"skeleton (literal values ignored too) or a MinHash Jaccard >= {ref['near_threshold']} over "
        f"normalised token 5-grams (as for near dups) or over name-blind ones (identifiers all alike).  {ref['ngram']}-gram overlap: records sharing a normalised-token "
        f"{ref['ngram']}-gram with the reference, leaving out boilerplate (in more than "
        f"{ref['boilerplate_share']:.0%} and at least {ref['boilerplate_min_kernels']} of the reference's "
        f"kernels or of the dataset's records; wp.tid() lines, imports and decorators never count)."))
    rows, examples = [], []
    for c in report["datasets"]:
        x = c.get("contamination")
        if not x:
            continue
        g = x["ngram_overlap"]
        rows.append([c["name"], x["records"], x["matched"], x["rate"], x["by_kind"]["exact"],
                     x["by_kind"]["skeleton"], x["by_kind"]["minhash"], g["records_overlapping"], g["record_rate"],
                     g["ngram_share"]])
        examples += [[c["name"], e["record_id"], e["kernel"], e["ref_id"], e["kind"], e["jaccard"],
                      e["jaccard_blind"]] for e in x["examples"]]
    s.blocks.append(Table(["dataset", "records", "contaminated", "contamination rate", "exact", "skeleton",
                           "minhash", f"records sharing a {ref['ngram']}-gram", "rate",
                           f"share of {ref['ngram']}-grams in the reference"], rows))
    if examples:
        s.blocks.append(Text("Examples (at most 5 per dataset)"))
        s.blocks.append(Table(["dataset", "record", "kernel", "reference kernel", "kind", "Jaccard",
                                     "Jaccard (name-blind)"], examples))
    return s


def to_markdown(title: str, sections: list[Section]) -> str:
    out = [f"# {title}", "", "Plots: see `report.html` next to this file.", ""]
    for sec in sections:
        out += [f"## {sec.title}", ""]
        for b in sec.blocks:
            if isinstance(b, Table):
                out.append("| " + " | ".join(b.header) + " |")
                out.append("|" + "|".join("---" for _ in b.header) + "|")
                out += ["| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |" for row in b.rows]
                out.append("")
            elif isinstance(b, Text):
                out += [b.text, ""]
    return "\n".join(out)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1120px;
color:#222;padding:0 16px}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.8em}
table{border-collapse:collapse;margin:8px 0 16px;font-size:0.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child,td.t{text-align:left}img{max-width:100%;display:block;margin:8px 0}
p.note{color:#555}
"""


def _td(v: object) -> str:
    numeric = isinstance(v, (int, float)) and not isinstance(v, bool)
    return f"<td>{html.escape(_fmt(v))}</td>" if numeric else f'<td class="t">{html.escape(_fmt(v))}</td>'


def to_html(title: str, sections: list[Section], notes: list[str]) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{e(title)}</title>",
           f"<style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    out += [f'<p class="note">{e(n)}</p>' for n in notes]
    for sec in sections:
        out.append(f"<h2>{e(sec.title)}</h2>")
        for b in sec.blocks:
            if isinstance(b, Table):
                out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in b.header) + "</tr>")
                out += ["<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in b.rows]
                out.append("</table>")
            elif isinstance(b, Text):
                out.append(f"<p>{e(b.text)}</p>")
            else:
                out.append(f'<img alt="{e(b.alt)}" src="{b.uri}">')
    out.append("</body></html>")
    return "\n".join(out)
