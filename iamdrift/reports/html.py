"""One self-contained HTML page (``findings --format html``): inline CSS and a little inline
JavaScript (filter by severity, search), no external resource of any kind, so it opens offline.
Each chain is drawn as an inline SVG generated here: one box per node, an arrow per edge labelled
with its mechanism; an unknown edge is dashed and says ``unknown``. Every text from the estate is
HTML-escaped."""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape

from iamdrift.node_labels import node_labeller
from iamdrift.reports import Report, Step, iso, status, steps
from iamdrift.reports.json_report import plain
from simulator.findings import Finding
from simulator.graph import Chain

BOX_W, BOX_H, GAP, PAD, LINE_H = 190, 44, 170, 10, 12
LABEL_CHARS = 26
EDGE_CHARS = 32

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem} table.summary{border-collapse:collapse;margin:1rem 0}
table.summary td,table.summary th{border:1px solid #d0d7de;padding:.3rem .7rem;text-align:left}
.finding{border:1px solid #d0d7de;border-left:6px solid #888;border-radius:6px;padding:.6rem 1rem;margin:.8rem 0}
.finding.critical{border-left-color:#b00020}.finding.high{border-left-color:#e05d00}
.finding.medium{border-left-color:#c9a100}.finding.low{border-left-color:#2f81f7}.finding.info{border-left-color:#8c959f}
.sev{font-weight:700;text-transform:uppercase;margin-right:.5rem}
.unknown-badge{background:#8250df;color:#fff;border-radius:4px;padding:0 .4rem;margin-right:.5rem;font-weight:700}
.meta{color:#57606a;font-size:.85rem} code{background:#f6f8fa;padding:0 .2rem;border-radius:3px}
.warn{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem 1rem;border-radius:6px;margin:.5rem 0}
.bad{background:#ffebe9;border:1px solid #cf222e;padding:.5rem 1rem;border-radius:6px;margin:.5rem 0}
svg.chain{max-width:100%;height:auto;margin:.4rem 0} pre{background:#f6f8fa;padding:.5rem;overflow:auto}
#controls label{margin-right:1rem}
"""

SCRIPT = """
(function(){
  function apply(){
    var q=document.getElementById('search').value.toLowerCase();
    var on={};document.querySelectorAll('#controls input[type=checkbox]').forEach(function(c){on[c.value]=c.checked;});
    var shown=0;
    document.querySelectorAll('.finding').forEach(function(f){
      var ok=on[f.dataset.severity]&&(q===''||f.textContent.toLowerCase().indexOf(q)>=0);
      f.style.display=ok?'':'none'; if(ok){shown++;}
    });
    document.getElementById('shown').textContent=String(shown);
  }
  document.querySelectorAll('#controls input').forEach(function(i){i.addEventListener('input',apply);});
  apply();
  document.body.dataset.ready='yes';
})();
"""


def _short(text: str, chars: int = LABEL_CHARS) -> str:
    return text if len(text) <= chars else "…" + text[-(chars - 1) :]


def _label_lines(step: Step) -> list[str]:
    """An edge's label, one line per action of its mechanism (``a+b``), ``(unknown)`` last."""
    lines = [_short(part, EDGE_CHARS) for part in step.mechanism.split("+")]
    return lines if step.proven else [*lines, "(unknown)"]


def chain_svg(chain: Chain, name: str = "chain", label: Callable[[str], str] = str) -> str:
    """The chain as an SVG picture: nodes left to right, named by ``label`` (the end highlighted,
    the full id in each box's tooltip), edges as arrows labelled with their mechanism (unknown:
    dashed, purple; the condition in the tooltip). ``name`` makes the arrowhead's id unique."""
    marker = f"arrow-{name}"
    chain_steps = steps(chain)
    nodes = [chain.source, *(s.target for s in chain_steps if s.target != s.source)]
    loops = any(s.source == s.target for s in chain_steps)
    width = PAD * 2 + len(nodes) * BOX_W + (len(nodes) - 1) * GAP + (GAP if loops else 0)
    top = LINE_H * max((len(_label_lines(s)) for s in chain_steps), default=1) + PAD
    y = PAD + top
    height = y + BOX_H + PAD + (24 if loops else 0)
    parts = [
        f'<svg class="chain" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(" → ".join(nodes))}">',
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#57606a"/></marker></defs>',
    ]
    for i, node in enumerate(nodes):
        x = PAD + i * (BOX_W + GAP)
        fill = "#ffebe9" if i == len(nodes) - 1 else "#f6f8fa"
        parts.append(
            f'<g class="node"><title>{escape(node)}</title><rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" '
            f'rx="6" fill="{fill}" stroke="#57606a"/><text x="{x + BOX_W // 2}" y="{y + BOX_H // 2 + 4}" '
            f'text-anchor="middle" font-size="12" font-family="monospace">{escape(_short(label(node)))}</text></g>'
        )
    position = {node: i for i, node in enumerate(nodes)}
    for step in chain_steps:
        a, b = position[step.source], position[step.target]
        dash = "" if step.proven else ' stroke-dasharray="6 4"'
        lines = _label_lines(step)
        title = step.mechanism + ("" if step.proven else " (unknown)")
        title += f" — condition: {step.condition}" if step.condition else ""
        if a == b:
            x1 = PAD + a * (BOX_W + GAP) + BOX_W
            path = f"M{x1},{y + 10} C{x1 + 60},{y - 20} {x1 + 60},{y + BOX_H + 20} {x1},{y + BOX_H - 10}"
            tx = x1 + GAP // 2
        else:
            x1, x2 = PAD + a * (BOX_W + GAP) + BOX_W, PAD + b * (BOX_W + GAP)
            path = f"M{x1},{y + BOX_H // 2} L{x2},{y + BOX_H // 2}"
            tx = (x1 + x2) // 2
        colour = "#57606a" if step.proven else "#8250df"
        first = y - 6 - LINE_H * (len(lines) - 1)
        spans = "".join(
            f'<tspan x="{tx}" y="{first + LINE_H * k}">{escape(line)}</tspan>' for k, line in enumerate(lines)
        )
        parts.append(
            f'<g class="edge" data-status="{"proven" if step.proven else "unknown"}"><title>{escape(title)}</title>'
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash} marker-end="url(#{marker})"/>'
            f'<text text-anchor="middle" font-size="10" fill="{colour}">{spans}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _finding(report: Report, finding: Finding, label: Callable[[str], str]) -> str:
    first, last = report.seen(finding)
    badge = '<span class="unknown-badge">UNKNOWN</span>' if finding.unknown else ""
    cloud = finding.cloud.value if finding.cloud is not None else "multi-cloud"
    out = [
        f'<section class="finding {finding.severity.value}" data-severity="{finding.severity.value}" '
        f'data-status="{status(finding)}" id="f-{finding.id}">',
        f'<h3><span class="sev">{finding.severity.value}</span>{badge}{escape(finding.sentence)}</h3>',
        f'<p class="meta">rule <code>{escape(finding.rule.id)}</code> · {escape(cloud)} · principal '
        f"<code>{escape(finding.principal)}</code> · NHI {escape(', '.join(n.value for n in finding.rule.nhi))}"
        + (f" · first seen {escape(first)} · last seen {escape(last or '')}" if first else "")
        + f" · id <code>{finding.id}</code></p>",
    ]
    if finding.chain is not None:
        out.append(chain_svg(finding.chain, finding.id, label))
    out.append(f"<p><strong>Fix:</strong> {escape(finding.rule.remediation)}</p>")
    evidence = [{"what": e.what, "source": e.source, "document": e.document} for e in finding.evidence]
    witness = finding.shown_witness
    if evidence or witness is not None:
        body = json.dumps(
            {"evidence": evidence, "witness": witness.to_json() if witness else None}, indent=2, default=plain
        )
        out.append(f"<details><summary>Evidence</summary><pre>{escape(body)}</pre></details>")
    out.append("</section>")
    return "\n".join(out)


def render(report: Report) -> str:
    summary = report.summary()
    rows = "".join(f"<tr><th>{s}</th><td>{n}</td></tr>" for s, n in report.counts().items())
    rows += "".join(
        f"<tr><th>{label}</th><td>{summary[key]}</td></tr>"
        for label, key in (
            ("unknown (of the above)", "unknown"),
            ("suppressed", "suppressed"),
            ("expired suppressions", "expired_suppressions"),
            ("rules failed", "failures"),
            ("collection gaps", "gaps"),
        )
    )
    notes = []
    if report.all_suppressed:
        notes.append(
            f'<p class="warn" id="all-suppressed"><strong>Every finding of this run is suppressed</strong> '
            f"({len(report.suppressed)}).</p>"
        )
    notes += [
        f'<p class="bad">rule <code>{escape(f.rule)}</code> FAILED, its findings are missing: {escape(f.error)}</p>'
        for f in report.failures
    ]
    notes += [
        f'<p class="warn">collection gap: {escape(g.service)} <code>{escape(g.operation)}</code> in '
        f"<code>{escape(g.scope_id)}</code>: the snapshot is blind there</p>"
        for g in report.gaps
    ]
    notes += [
        f'<p class="warn">expired suppression #{e.suppression.index} (<code>{escape(e.suppression.rule)}</code> / '
        f"<code>{escape(e.suppression.principal)}</code>, {e.suppression.expires.isoformat()}) is not honoured: "
        f"{len(e.findings)} findings</p>"
        for e in report.expired
    ]
    checks = "".join(f'<label><input type="checkbox" value="{s}" checked> {s}</label>' for s in report.counts())
    suppressed = ""
    if report.suppressed:
        items = "".join(
            f"<li><code>{escape(s.finding.rule.id)}</code> <code>{escape(s.finding.principal)}</code>: "
            f"{escape(s.by.reason)} (until {s.by.expires.isoformat()})</li>"
            for s in report.suppressed
        )
        suppressed = f"<details><summary>{len(report.suppressed)} suppressed</summary><ul>{items}</ul></details>"
    label = node_labeller(report.snapshot)
    findings = "\n".join(_finding(report, f, label) for f in report.findings)
    title = f"iamdrift findings — snapshot {report.snapshot.id}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p class="meta">request time {escape(iso(report.at))} · {escape(report.summary_line())}</p>
<table class="summary">{rows}</table>
{"".join(notes)}
<div id="controls">{checks}<input id="search" type="search" placeholder="search"> <span id="shown"></span> shown</div>
<main id="findings">
{findings}
</main>
{suppressed}
<script>{SCRIPT}</script>
</body></html>
"""


__all__ = ["chain_svg", "render"]
