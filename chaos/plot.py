"""Draws a chaos run as one self-contained SVG file (no scripts, no external
resources), time running left to right:

  - a shaded band per nemesis fault across all lanes, labelled with its kind,
    nodes and start-end (red when no majority was up and connected);
  - a lane with the ready leader (node number per stretch, failover gaps);
  - a lane per workload process, one mark per operation from invocation to
    completion (ok green, fail red, info orange);
  - a lane of pages, one tick per arrival (duplicates taller, in purple);
  - a lane of violations, with a dashed line across the lanes at each.

Every mark has a tooltip (<title>) naming what it stands for.
"""

from xml.sax.saxutils import escape, quoteattr

WIDTH = 1400
LEFT = 140          # room for the lane names
RIGHT = 30
LANE = 22           # height of a lane, including its gap
MARK = 14           # height of the marks in a lane
TOP = 110           # where the first lane starts

STYLE = """
text { font: 11px sans-serif; fill: #222; }
.title { font-size: 14px; font-weight: bold; }
.node { fill: #fff; font-weight: bold; }
.lane { fill: #f7f7f7; }
.grid { stroke: #ddd; stroke-width: 1; }
.fault { fill: #6baed6; fill-opacity: 0.22; stroke: #3182bd;
         stroke-opacity: 0.5; }
.fault.minority { fill: #fb6a4a; stroke: #de2d26; }
.ok { fill: #2ca02c; }
.fail { fill: #d62728; }
.info { fill: #ff7f0e; }
.noleader { fill: #bbb; }
.gap { fill: none; stroke: #d62728; stroke-width: 1.5; }
.page { stroke: #555; stroke-width: 1; }
.dup { stroke: #9b30d9; stroke-width: 2; }
.violation { fill: #d62728; stroke: #700; }
.vline { stroke: #d62728; stroke-dasharray: 4 3; stroke-opacity: 0.6; }
.marker { stroke: #444; stroke-dasharray: 2 2; }
"""

LEADER_COLOURS = ("#1f77b4", "#8c564b", "#6a3d9a", "#00767a", "#637939",
                  "#ad494a", "#393b79", "#8c6d31", "#555555")
TICK_STEPS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800,
              3600)


class Canvas:
    """SVG elements over a time axis from `t0` to `t1` seconds."""

    def __init__(self, t0, t1):
        self.t0 = t0
        self.span = max(t1 - t0, 1e-3)
        self.parts = []

    def x(self, t):
        """The x coordinate of host time t."""
        return LEFT + (t - self.t0) / self.span * (WIDTH - LEFT - RIGHT)

    def add(self, tag, attrs, title=None, text=None):
        """Appends one element; `title` becomes its tooltip."""
        attr = "".join(" %s=%s" % (k, quoteattr(fmt(v)))
                       for k, v in attrs.items())
        inner = escape(text) if text is not None else ""
        if title is not None:
            inner += "<title>%s</title>" % escape(title)
        self.parts.append("<%s%s>%s</%s>" % (tag, attr, inner, tag)
                          if inner else "<%s%s/>" % (tag, attr))

    def span_rect(self, start, end, y, height, cls, title=None):
        """A rectangle from time `start` to `end` (at least 1.5 px wide)."""
        x0 = self.x(start)
        width = max(self.x(end) - x0, 1.5)
        self.add("rect", {"x": x0, "y": y, "width": width, "height": height,
                          "class": cls}, title)


def fmt(value):
    """An attribute value: numbers rounded to 0.1 px."""
    if isinstance(value, float):
        return "%.1f" % value
    return str(value)


def lane_y(index):
    """The top of lane `index`."""
    return TOP + index * LANE


def tick_step(span):
    """A round tick interval giving at most about 12 ticks."""
    for step in TICK_STEPS:
        if span / step <= 12:
            return step
    return TICK_STEPS[-1]


def process_order(process):
    """Sort key for process names (numbers first, in numeric order)."""
    if isinstance(process, (int, float)):
        return (0, process, "")
    return (1, 0, str(process))


def draw_axis(canvas, bottom):
    """Grid lines and labels every round number of seconds."""
    step = tick_step(canvas.span)
    n = 0
    while n * step <= canvas.span + 1e-9:
        x = canvas.x(canvas.t0 + n * step)
        canvas.add("line", {"x1": x, "x2": x, "y1": TOP - 8, "y2": bottom,
                            "class": "grid"})
        label = ("%g" % (n * step)) + "s"
        canvas.add("text", {"x": x, "y": TOP - 12, "text-anchor": "middle"},
                   text=label)
        n += 1


def draw_lanes(canvas, names):
    """The lane backgrounds and their names."""
    for index, name in enumerate(names):
        y = lane_y(index)
        canvas.add("rect", {"x": LEFT, "y": y, "width": WIDTH - LEFT - RIGHT,
                            "height": MARK, "class": "lane"})
        canvas.add("text", {"x": LEFT - 8, "y": y + MARK - 3,
                            "text-anchor": "end"}, text=name)


def fault_label(fault, t0):
    """'kill [2] 12.3-18.1s'."""
    return "%s %s %.1f-%.1fs" % (fault.kind, fault.nodes, fault.start - t0,
                                 fault.end - t0)


def draw_faults(canvas, faults, bottom):
    """A band per fault across every lane, labelled above the lanes (two
    rows, alternating, so that neighbours do not overwrite each other)."""
    for n, fault in enumerate(faults):
        cls = "fault" if fault.majority else "fault minority"
        label = fault_label(fault, canvas.t0)
        majority = "majority up" if fault.majority else "NO majority"
        canvas.span_rect(fault.start, fault.end, 40, bottom - 40, cls,
                         "%s (%s): %s" % (label, majority, fault.detail))
        canvas.add("text", {"x": canvas.x(fault.start) + 2,
                            "y": 52 + 14 * (n % 2)}, text=label)


def leader_stretches(leaders, end_t):
    """(start, end, node) for each run of equal leadership samples."""
    stretches = []
    for n, (t, node) in enumerate(leaders):
        until = leaders[n + 1][0] if n + 1 < len(leaders) else end_t
        if stretches and stretches[-1][2] == node:
            stretches[-1] = (stretches[-1][0], until, node)
        else:
            stretches.append((t, until, node))
    return stretches


def draw_leader(canvas, leaders, gaps, y, end_t):
    """The leader lane: one coloured stretch per leader with its number, grey
    without one, failover gaps outlined in red."""
    for start, end, node in leader_stretches(leaders, end_t):
        if node == 0:
            canvas.span_rect(start, end, y, MARK, "noleader", "no leader")
            continue
        colour = LEADER_COLOURS[node % len(LEADER_COLOURS)]
        x0 = canvas.x(start)
        width = max(canvas.x(end) - x0, 1.5)
        canvas.add("rect", {"x": x0, "y": y, "width": width, "height": MARK,
                            "fill": colour},
                   "leader: node %d (%.1f-%.1fs)" % (
                       node, start - canvas.t0, end - canvas.t0))
        if width >= 12:
            canvas.add("text", {"x": x0 + width / 2, "y": y + MARK - 3,
                                "text-anchor": "middle", "class": "node"},
                       text=str(node))
    for start, end, before, after in gaps:
        canvas.span_rect(start, end, y - 2, MARK + 4, "gap",
                         "failover gap %.2fs: node %s -> %s" % (
                             end - start, before,
                             after if after is not None else "none"))


def draw_ops(canvas, ops, y, end_t):
    """One mark per operation of a process, from invocation to completion
    (indeterminate ones thinner: they last long and would hide the rest)."""
    for op in ops:
        cls = op.outcome if op.outcome in ("ok", "fail") else "info"
        inset = 2 if cls != "info" else 4
        end = op.complete_t if op.complete_t is not None else end_t
        what = op.args.get("incident", "%s/%s" % (op.args.get("service"),
                                                  op.args.get("dedup")))
        canvas.span_rect(op.invoke_t, end, y + inset, MARK - 2 * inset, cls,
                         "op %d %s %s: %s" % (op.id, op.f, what,
                                              op.outcome or "no completion"))


def draw_pages(canvas, pages, y):
    """One tick per page; repeated idempotency keys (duplicates) stand out."""
    seen = set()
    for page in pages:
        duplicate = page.key is not None and page.key in seen
        seen.add(page.key)
        x = canvas.x(page.t)
        canvas.add("line", {"x1": x, "x2": x,
                            "y1": y - (3 if duplicate else 0),
                            "y2": y + MARK + (3 if duplicate else 0),
                            "class": "dup" if duplicate else "page"},
                   "%spage %s incident %s level %s repeat %s" % (
                       "DUPLICATE " if duplicate else "", page.page_id,
                       page.incident, page.level, page.repeat))


def draw_violations(canvas, violations, y, bottom, end_t):
    """A diamond per violation in its lane and a dashed line across all."""
    for v in violations:
        t = v.t if v.t is not None else end_t
        x, mid = canvas.x(t), y + MARK / 2
        canvas.add("line", {"x1": x, "x2": x, "y1": TOP, "y2": bottom,
                            "class": "vline"})
        points = "%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" % (
            x, mid - 6, x + 6, mid, x, mid + 6, x - 6, mid)
        canvas.add("polygon", {"points": points, "class": "violation"},
                   "%s: %s" % (v.check, v.summary))


def draw_markers(canvas, run, bottom):
    """Dashed lines where the workload ended and the faults were healed."""
    for label, t, anchor, dx in (("workload end", run.workload_end_t,
                                  "end", -3),
                                 ("heal", run.heal_t, "start", 3)):
        if t is None:
            continue
        x = canvas.x(t)
        canvas.add("line", {"x1": x, "x2": x, "y1": 78, "y2": bottom,
                            "class": "marker"})
        canvas.add("text", {"x": x + dx, "y": 86, "text-anchor": anchor},
                   text=label)


def draw_legend(canvas, y):
    """What the colours mean."""
    items = (("ok", "ok"), ("fail", "fail"), ("info", "info / unknown"),
             ("fault", "fault, majority up"),
             ("fault minority", "fault, no majority"),
             ("noleader", "no leader"), ("violation", "violation"))
    x = LEFT
    for cls, label in items:
        canvas.add("rect", {"x": x, "y": y, "width": 12, "height": 12,
                            "class": cls})
        canvas.add("text", {"x": x + 16, "y": y + 10}, text=label)
        x += 30 + 7 * len(label)
    canvas.add("line", {"x1": x, "x2": x, "y1": y - 2, "y2": y + 14,
                        "class": "dup"})
    canvas.add("text", {"x": x + 6, "y": y + 10}, text="duplicate page")


def title(run, violations):
    """The line at the top: scenario, seed and verdict."""
    verdict = "PASS"
    if violations:
        verdict = "FAIL: %d violation%s" % (
            len(violations), "" if len(violations) == 1 else "s")
    return "klaxon chaos run: %s, seed %s, %.1fs, %s" % (
        run.config.scenario, run.config.seed, run.end_t - run.start_t,
        verdict)


def render(run, violations, gaps):
    """The SVG document for a run, its violations and its failover gaps."""
    processes = sorted({op.process for op in run.ops}, key=process_order)
    names = (["leader"] + ["process %s" % p for p in processes]
             + ["pages", "violations"])
    bottom = lane_y(len(names))
    end_t = run.end_t
    canvas = Canvas(run.start_t, end_t)
    canvas.add("text", {"x": 10, "y": 22, "class": "title"},
               text=title(run, violations))
    draw_lanes(canvas, names)
    draw_faults(canvas, run.faults, bottom)
    draw_axis(canvas, bottom)
    draw_markers(canvas, run, bottom)
    draw_leader(canvas, run.leaders, gaps, lane_y(0), end_t)
    by_process = {p: [] for p in processes}
    for op in run.ops:
        by_process[op.process].append(op)
    for index, process in enumerate(processes, 1):
        draw_ops(canvas, by_process[process], lane_y(index), end_t)
    draw_pages(canvas, run.pages, lane_y(len(processes) + 1))
    draw_violations(canvas, violations, lane_y(len(processes) + 2), bottom,
                    end_t)
    draw_legend(canvas, bottom + 12)
    height = bottom + 40
    return "\n".join(
        ['<?xml version="1.0" encoding="UTF-8"?>',
         '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'viewBox="0 0 %d %d">' % (WIDTH, height, WIDTH, height),
         "<style>%s</style>" % STYLE,
         '<rect width="100%" height="100%" fill="#fff"/>']
        + canvas.parts + ["</svg>", ""])
