#!/usr/bin/env python3
"""scripts/curve.py -- training curves from TensorBoard event files, with the
standard library only (no numpy, matplotlib or tensorboard).

    scripts/curve.py RUN                      # a table of the evaluations
    scripts/curve.py RUN --svg curve.svg --title "fashion_mlp, SGD 0.05"
    scripts/curve.py RUN --tags               # the tags, with counts

RUN is one event file or a log directory: every file in it whose name holds
"tfevents" (TensorBoard's rule), read in name order (a run of digits compares
as a number, so "x.2" comes before "x.10"). Scalars are merged by step; where
two records give a tag the same step, the later one (the later file) wins.

Every record's framing is checked (length, masked CRC-32C of the length and of
the data; see shared/notes/formats.md section 2) and every Event is decoded
with bounds checks: a corrupt or truncated file is reported on stderr as
"curve.py: error: FILE: ..." and the exit status is 1, never a traceback.

Scalars are Summary values with simple_value (what graphrun train writes) or
a one-element float/double tensor of the "scalars" plugin (TF2 style).

The table has one row per evaluation, i.e. per step that logged accuracy or
test_loss (graphrun train: after every epoch and at the last step), with the
mean of 'loss' over the steps since the previous evaluation.

--svg writes a self-contained 800x400 SVG (white background): training loss
against step (mean per N steps, N from --smooth or chosen so there are about
60 points, over the raw loss drawn faint, and test_loss as points), and test
accuracy against step with its values labelled.

Exit status: 0 success, 1 an unreadable, corrupt or truncated file, nothing
to plot, an unwritable SVG or a closed standard output, 2 bad usage.
"""

import argparse
import math
import os
import re
import struct
import sys

PROG = "curve.py"


class CurveError(Exception):
    """A user-facing error: printed as one line, exit status 1."""


# ---------------------------------------------------------------- CRC-32C

def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    """CRC-32C (Castagnoli), reflected; crc32c(b"123456789") == 0xE3069283."""
    table = _CRC_TABLE
    c = 0xFFFFFFFF
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc32c(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ---------------------------------------------------------------- protobuf

class ProtoError(Exception):
    pass


def _varint(buf, pos, end):
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtoError("varint runs past the end of its message")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")


def fields(buf, pos, end):
    """Yields (field number, wire type, value) for the message buf[pos:end]:
    the value is an int for wire types 0, 1 and 5 and a (start, end) pair for
    wire type 2."""
    while pos < end:
        key, pos = _varint(buf, pos, end)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtoError("field number 0")
        if wt == 0:
            val, pos = _varint(buf, pos, end)
        elif wt == 1:
            if end - pos < 8:
                raise ProtoError("fixed64 field %d runs past the end" % num)
            val = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wt == 5:
            if end - pos < 4:
                raise ProtoError("fixed32 field %d runs past the end" % num)
            val = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        elif wt == 2:
            n, pos = _varint(buf, pos, end)
            if n > end - pos:
                raise ProtoError("field %d (%d bytes) runs past the end" % (num, n))
            val = (pos, pos + n)
            pos += n
        elif wt in (3, 4):
            raise ProtoError("field %d is a group (wire type %d), not used in Event" % (num, wt))
        else:
            raise ProtoError("field %d has the invalid wire type %d" % (num, wt))
        yield num, wt, val


def _f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _f64(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def _text(buf, span):
    return bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")


DT_FLOAT, DT_DOUBLE = 1, 2


def _tensor_scalar(buf, span):
    """The value of a one-element DT_FLOAT or DT_DOUBLE TensorProto, or None."""
    dtype = 0
    elems = 1
    vals = []
    content = None
    for num, wt, val in fields(buf, span[0], span[1]):
        if num == 1 and wt == 0:
            dtype = val
        elif num == 2 and wt == 2:          # TensorShapeProto: repeated Dim dim = 2
            for dn, dwt, dval in fields(buf, val[0], val[1]):
                if dn == 2 and dwt == 2:
                    size = 1
                    for sn, swt, sval in fields(buf, dval[0], dval[1]):
                        if sn == 1 and swt == 0:
                            size = sval
                    elems *= size
        elif num == 4 and wt == 2:
            content = bytes(buf[val[0]:val[1]])
        elif num == 5:                      # float_val, packed or not
            if wt == 5:
                vals.append(_f32(val))
            elif wt == 2:
                n = (val[1] - val[0]) // 4
                vals.extend(struct.unpack_from("<%df" % n, buf, val[0]))
        elif num == 6:                      # double_val, packed or not
            if wt == 1:
                vals.append(_f64(val))
            elif wt == 2:
                n = (val[1] - val[0]) // 8
                vals.extend(struct.unpack_from("<%dd" % n, buf, val[0]))
    if elems != 1:
        return None
    if content is not None:
        if dtype == DT_FLOAT and len(content) == 4:
            return struct.unpack("<f", content)[0]
        if dtype == DT_DOUBLE and len(content) == 8:
            return struct.unpack("<d", content)[0]
        return None
    if dtype in (DT_FLOAT, DT_DOUBLE) and vals:
        return vals[0]      # proto3: one value stands for the whole tensor
    return None


def _plugin_name(buf, span):
    """(plugin_name, data_class) of a SummaryMetadata."""
    name, data_class = None, 0
    for num, wt, val in fields(buf, span[0], span[1]):
        if num == 1 and wt == 2:
            for pn, pwt, pval in fields(buf, val[0], val[1]):
                if pn == 1 and pwt == 2:
                    name = _text(buf, pval)
        elif num == 4 and wt == 0:
            data_class = val
    return name, data_class


# ---------------------------------------------------------------- reading

class Run:
    """What the event files hold: scalars[tag] = {step: value} (merged),
    and per tag the kind and how many values were read."""

    def __init__(self):
        self.scalars = {}
        self.kinds = {}         # tag -> set of kinds
        self.counts = {}        # tag -> values read (before merging)
        self.plugins = {}       # tag -> plugin name, from the first metadata seen
        self.files = []
        self.records = 0

    def _note(self, tag, kind):
        self.kinds.setdefault(tag, set()).add(kind)
        self.counts[tag] = self.counts.get(tag, 0) + 1

    def add_event(self, buf, start, end):
        step = 0
        summaries = []
        for num, wt, val in fields(buf, start, end):
            if num == 2 and wt == 0:
                step = val - (1 << 64) if val >= 1 << 63 else val
            elif num == 5 and wt == 2:
                summaries.append(val)
        for span in summaries:
            for num, wt, val in fields(buf, span[0], span[1]):
                if num == 1 and wt == 2:
                    self._add_value(buf, val, step)

    def _add_value(self, buf, span, step):
        tag = None
        simple = None
        kind = None
        tensor = None
        meta = None
        for num, wt, val in fields(buf, span[0], span[1]):
            if num == 1 and wt == 2:
                tag = _text(buf, val)
            elif num == 7 and wt == 2 and tag is None:
                tag = _text(buf, val)       # node_name, deprecated
            elif num == 2 and wt == 5:
                simple = _f32(val)
            elif num == 8 and wt == 2:
                tensor = val
            elif num == 9 and wt == 2:
                meta = val
            elif num in (3, 5):
                kind = "histogram"
            elif num == 4:
                kind = "image"
            elif num == 6:
                kind = "audio"
        if tag is None:
            tag = ""
        if meta is not None:
            name, data_class = _plugin_name(buf, meta)
            if name is not None and tag not in self.plugins:
                self.plugins[tag] = name
            if data_class == 1 and tag not in self.plugins:
                self.plugins[tag] = "scalars"
        value = simple
        if value is None and tensor is not None:
            if self.plugins.get(tag) == "scalars":
                value = _tensor_scalar(buf, tensor)
            if value is None:
                kind = self.plugins.get(tag) or "tensor"
        if value is not None:
            self._note(tag, "scalar")
            self.scalars.setdefault(tag, {})[step] = value
        else:
            self._note(tag, kind or "other")

    def read_file(self, path):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise CurveError("%s: cannot read: %s" % (path, e.strerror or e))
        buf = memoryview(data)
        size = len(data)
        pos = 0
        index = 0
        while pos < size:
            where = "%s: record %d at byte %d" % (path, index, pos)
            if size - pos < 12:
                raise CurveError("%s: truncated: %d bytes left, a record header needs 12"
                                 % (where, size - pos))
            length, len_crc = struct.unpack_from("<QI", data, pos)
            if masked_crc32c(buf[pos:pos + 8]) != len_crc:
                raise CurveError("%s: corrupt: the CRC of the length field does not match" % where)
            start = pos + 12
            if length > size - start or size - start - length < 4:
                raise CurveError("%s: truncated: the record needs %d data bytes + 4 CRC bytes, "
                                 "the file has %d left" % (where, length, size - start))
            end = start + length
            (data_crc,) = struct.unpack_from("<I", data, end)
            if masked_crc32c(buf[start:end]) != data_crc:
                raise CurveError("%s: corrupt: the CRC of the data does not match" % where)
            try:
                self.add_event(buf, start, end)
            except (ProtoError, struct.error, ValueError, IndexError) as e:
                raise CurveError("%s: not a valid Event message: %s" % (where, e))
            pos = end + 4
            index += 1
        self.files.append(path)
        self.records += index


def _natural_key(name):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name)]


def event_files(path):
    if os.path.isdir(path):
        try:
            names = os.listdir(path)
        except OSError as e:
            raise CurveError("%s: cannot list: %s" % (path, e.strerror or e))
        files = [os.path.join(path, n) for n in sorted(names, key=_natural_key)
                 if "tfevents" in n and not n.endswith(".profile-empty")
                 and os.path.isfile(os.path.join(path, n))]
        if not files:
            subs = sorted(n for n in names if os.path.isdir(os.path.join(path, n)) and any(
                "tfevents" in m for m in _listdir_quiet(os.path.join(path, n))))
            hint = ""
            if subs:
                hint = " (these subdirectories have some: %s; give one of them)" % ", ".join(subs[:8])
            raise CurveError("%s: no event files (*tfevents*) in this directory%s" % (path, hint))
        return files
    if os.path.exists(path):
        return [path]
    raise CurveError("%s: no such file or directory" % path)


def _listdir_quiet(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def load(path):
    run = Run()
    for f in event_files(path):
        run.read_file(f)
    return run


# ---------------------------------------------------------------- the table

def evaluations(run):
    """One row per evaluation step: (step, accuracy, test_loss, mean loss, n)."""
    acc = run.scalars.get("accuracy", {})
    tloss = run.scalars.get("test_loss", {})
    loss = run.scalars.get("loss", {})
    loss_steps = sorted(loss)
    rows = []
    prev = None
    i = 0
    for s in sorted(set(acc) | set(tloss)):
        window = []
        while i < len(loss_steps) and loss_steps[i] <= s:
            if prev is None or loss_steps[i] > prev:
                window.append(loss[loss_steps[i]])
            i += 1
        mean = math.fsum(window) / len(window) if window else None
        rows.append((s, acc.get(s), tloss.get(s), mean, len(window)))
        prev = s
    return rows


def _fmt(v, spec="%.4f"):
    return "-" if v is None else spec % v


def print_table(run, label, out):
    steps = set()
    for d in run.scalars.values():
        steps.update(d)
    span = ", steps %d..%d" % (min(steps), max(steps)) if steps else ""
    out.write("%s: %d event file%s, %d records%s\n" % (
        label, len(run.files), "" if len(run.files) == 1 else "s", run.records, span))
    rows = evaluations(run)
    if not rows:
        loss = run.scalars.get("loss", {})
        if loss:
            vals = [loss[s] for s in sorted(loss)]
            tail = vals[-min(len(vals), 100):]
            out.write("no evaluations (no 'accuracy' or 'test_loss' scalars); 'loss' at %d steps, "
                      "mean of the last %d: %.4f\n" % (len(vals), len(tail), math.fsum(tail) / len(tail)))
        else:
            out.write("no evaluations (no 'accuracy' or 'test_loss' scalars) and no 'loss'\n")
        return
    out.write("%5s %9s %9s %10s %11s %7s\n" % ("eval", "step", "accuracy", "test_loss", "train_loss", "loss_n"))
    for k, (s, a, t, m, n) in enumerate(rows, 1):
        out.write("%5d %9d %9s %10s %11s %7d\n" % (k, s, _fmt(a), _fmt(t), _fmt(m), n))
    accs = [(a, s) for s, a, _, _, _ in rows if a is not None and not math.isnan(a)]
    if accs:
        best = max(accs, key=lambda x: x[0])
        out.write("best accuracy %.4f at step %d; last %.4f at step %d\n"
                  % (best[0], best[1], accs[-1][0], accs[-1][1]))


def print_tags(run, label, out):
    out.write("%s: %d event file%s, %d records\n" % (
        label, len(run.files), "" if len(run.files) == 1 else "s", run.records))
    if not run.counts:
        out.write("no summary values\n")
        return
    w = max(12, max(len(t) for t in run.counts))
    out.write("%-*s %-10s %7s %7s %8s %8s\n" % (w, "tag", "kind", "values", "steps", "first", "last"))
    for tag in sorted(run.counts):
        kind = ",".join(sorted(run.kinds[tag]))
        d = run.scalars.get(tag)
        if d:
            out.write("%-*s %-10s %7d %7d %8d %8d\n" % (w, tag, kind, run.counts[tag], len(d), min(d), max(d)))
        else:
            out.write("%-*s %-10s %7d %7s %8s %8s\n" % (w, tag, kind, run.counts[tag], "-", "-", "-"))


# ---------------------------------------------------------------- the SVG

def nice_step(span, target):
    """A step of 1, 2 or 5 x 10^k giving about target intervals over span."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / max(1, target)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag * 1.0000001:
            return m * mag
    return 10 * mag


def nice_range(lo, hi, target=5, pad=0.0):
    """(lo, hi, step) with lo and hi on multiples of step, covering the data."""
    if lo > hi:
        lo, hi = hi, lo
    if hi - lo < 1e-12 * max(1.0, abs(hi)):
        d = abs(hi) * 0.05 or 0.5
        lo, hi = lo - d, hi + d
    p = (hi - lo) * pad
    lo, hi = lo - p, hi + p
    step = nice_step(hi - lo, target)
    return math.floor(lo / step + 1e-9) * step, math.ceil(hi / step - 1e-9) * step, step


def ticks(lo, hi, step):
    out = []
    k = math.ceil(lo / step - 1e-9)
    while k * step <= hi + step * 1e-9:
        out.append(k * step)
        k += 1
    return out


def _decimals(step):
    if step >= 1:
        return 0
    return min(6, int(math.ceil(-math.log10(step) - 1e-9)))


def fmt_tick(v, step):
    if abs(v) < step * 1e-6:
        v = 0.0
    if step >= 1 and abs(v) >= 10000:
        if abs(v) % 1000 == 0 or step >= 1000:
            return "%gk" % (v / 1000)
    return "%.*f" % (_decimals(step), v)


def xml_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def text_width(s, size):
    return 0.58 * size * len(s)


def bucket_means(points, n):
    """points sorted by step -> [(mean step, mean value)] per bucket of n steps."""
    if n <= 1:
        return list(points)
    out = []
    cur = None
    xs, ys = [], []
    for s, v in points:
        b = (s - 1) // n
        if b != cur and xs:
            out.append((math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)))
            xs, ys = [], []
        cur = b
        xs.append(s)
        ys.append(v)
    if xs:
        out.append((math.fsum(xs) / len(xs), math.fsum(ys) / len(ys)))
    return out


def nice_count(x):
    """The least 1, 2 or 5 x 10^k >= x."""
    if x <= 1:
        return 1
    k = 10 ** int(math.floor(math.log10(x)))
    for m in (1, 2, 5, 10):
        if m * k >= x:
            return int(m * k)
    return int(10 * k)


class Svg:
    def __init__(self, w, h):
        self.w, self.h = w, h
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self, x, y, s, size=12, anchor="start", fill="#333", weight=None, extra=""):
        w = ' font-weight="%s"' % weight if weight else ""
        self.add('<text x="%.1f" y="%.1f" font-size="%g" text-anchor="%s" fill="%s"%s%s>%s</text>'
                 % (x, y, size, anchor, fill, w, extra, xml_escape(s)))

    def line(self, x1, y1, x2, y2, stroke="#888", width=1, extra=""):
        self.add('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="%g"%s/>'
                 % (x1, y1, x2, y2, stroke, width, extra))

    def polyline(self, pts, stroke, width=1.5, extra=""):
        if len(pts) == 1:
            self.add('<circle cx="%.1f" cy="%.1f" r="%g" fill="%s"%s/>'
                     % (pts[0][0], pts[0][1], width + 1, stroke, extra))
            return
        if pts:
            self.add('<polyline fill="none" stroke="%s" stroke-width="%g" stroke-linejoin="round" '
                     'stroke-linecap="round"%s points="%s"/>'
                     % (stroke, width, extra, " ".join("%.1f,%.1f" % p for p in pts)))

    def render(self):
        head = ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
                'font-family="Helvetica, Arial, sans-serif">\n' % (self.w, self.h, self.w, self.h))
        return head + '<rect width="100%" height="100%" fill="#ffffff"/>\n' + "\n".join(self.parts) + "\n</svg>\n"


class Panel:
    def __init__(self, svg, x0, y0, x1, y1, xdom, ydom):
        self.svg = svg
        self.x0, self.y0, self.x1, self.y1 = x0, y0, x1, y1   # y0 top, y1 bottom
        self.xlo, self.xhi, self.xstep = xdom
        self.ylo, self.yhi, self.ystep = ydom

    def px(self, x):
        return self.x0 + (x - self.xlo) * (self.x1 - self.x0) / (self.xhi - self.xlo)

    def py(self, y):
        return self.y1 - (y - self.ylo) * (self.y1 - self.y0) / (self.yhi - self.ylo)

    def axes(self, title, ylabel, yfmt):
        s = self.svg
        s.text((self.x0 + self.x1) / 2, self.y0 - 12, title, size=14, anchor="middle", fill="#222",
               weight="bold")
        for t in ticks(self.ylo, self.yhi, self.ystep):
            y = self.py(t)
            s.line(self.x0, y, self.x1, y, stroke="#e6e6e6")
            s.line(self.x0 - 4, y, self.x0, y, stroke="#555")
            s.text(self.x0 - 7, y + 4, yfmt(t), size=11, anchor="end", fill="#444")
        for t in ticks(self.xlo, self.xhi, self.xstep):
            x = self.px(t)
            s.line(x, self.y0, x, self.y1, stroke="#f0f0f0")
            s.line(x, self.y1, x, self.y1 + 4, stroke="#555")
            s.text(x, self.y1 + 17, fmt_tick(t, self.xstep), size=11, anchor="middle", fill="#444")
        s.line(self.x0, self.y1, self.x1, self.y1, stroke="#555")
        s.line(self.x0, self.y0, self.x0, self.y1, stroke="#555")
        s.text((self.x0 + self.x1) / 2, self.y1 + 36, "step", size=12, anchor="middle", fill="#444")
        cy = (self.y0 + self.y1) / 2
        s.text(self.x0 - 50, cy, ylabel, size=12, anchor="middle", fill="#444",
               extra=' transform="rotate(-90 %.1f %.1f)"' % (self.x0 - 50, cy))

    def no_data(self, msg):
        self.svg.text((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2, msg, size=13,
                      anchor="middle", fill="#999")


def _finite(points):
    return [(s, v) for s, v in points if math.isfinite(v)]


def write_svg(run, path, title, smooth):
    loss = _finite(sorted(run.scalars.get("loss", {}).items()))
    acc = _finite(sorted(run.scalars.get("accuracy", {}).items()))
    tloss = _finite(sorted(run.scalars.get("test_loss", {}).items()))
    if not loss and not acc and not tloss:
        raise CurveError("nothing to plot: no finite 'loss', 'test_loss' or 'accuracy' scalars")

    W, H = 800, 400
    svg = Svg(W, H)
    svg.text(W / 2, 26, title, size=17, anchor="middle", fill="#111", weight="bold")

    all_steps = [s for s, _ in loss + acc + tloss]
    xmax = max(all_steps)
    xmin = min(0, min(all_steps))
    if xmax <= xmin:
        xmax = xmin + 1
    xstep = nice_step(xmax - xmin, 4)
    xdom = (xmin, xmax, xstep)
    top, bottom = 72, 332

    # ---- left: training loss
    n = smooth if smooth else nice_count(len(loss) / 60.0)
    smoothed = bucket_means(loss, n)
    faint = bucket_means(loss, nice_count(len(loss) / 800.0))
    ys = [v for _, v in faint] + [v for _, v in tloss]
    if ys:
        lo, hi, ystep = nice_range(min(ys), max(ys), 5)
        left = Panel(svg, 72, top, 372, bottom, xdom, (lo, hi, ystep))
        dec = _decimals(ystep)
        left.axes("training loss", "loss", lambda t: "%.*f" % (dec, t))
        if faint and n > 1:
            svg.polyline([(left.px(s), left.py(v)) for s, v in faint], "#1f77b4", 1,
                         ' stroke-opacity="0.22"')
        if smoothed:
            svg.polyline([(left.px(s), left.py(v)) for s, v in smoothed], "#1f77b4", 2)
        r = 3.2 if len(tloss) <= 40 else 2.0
        for s, v in tloss:
            svg.add('<circle cx="%.1f" cy="%.1f" r="%g" fill="#ff7f0e" stroke="#ffffff" '
                    'stroke-width="0.8"/>' % (left.px(s), left.py(v), r))
        # legend, top right inside the plot
        items = []
        if loss:
            items.append(("line", "#1f77b4", "train loss" if n == 1 else "train loss, mean per %d steps" % n))
        if tloss:
            items.append(("dot", "#ff7f0e", "test loss"))
        lw = max(text_width(t, 11) for _, _, t in items) + 34
        lx, ly = left.x1 - lw - 6, left.y0 + 6
        svg.add('<rect x="%.1f" y="%.1f" width="%.1f" height="%d" fill="#ffffff" fill-opacity="0.85" '
                'stroke="#dddddd" rx="3"/>' % (lx, ly, lw, 8 + 16 * len(items)))
        for k, (shape, color, label) in enumerate(items):
            y = ly + 14 + 16 * k
            if shape == "line":
                svg.line(lx + 7, y - 4, lx + 25, y - 4, stroke=color, width=2)
            else:
                svg.add('<circle cx="%.1f" cy="%.1f" r="3.2" fill="%s"/>' % (lx + 16, y - 4, color))
            svg.text(lx + 30, y, label, size=11, fill="#333")
    else:
        left = Panel(svg, 72, top, 372, bottom, xdom, (0, 1, 0.2))
        left.axes("training loss", "loss", lambda t: "%.1f" % t)
        left.no_data("no 'loss' scalars")

    # ---- right: test accuracy
    vals = [v for _, v in acc]
    percent = bool(vals) and all(0.0 <= v <= 1.0 for v in vals)
    scale = 100.0 if percent else 1.0
    if acc:
        lo, hi = min(vals) * scale, max(vals) * scale
        lo, hi, ystep = nice_range(lo, hi, 5, pad=0.08)
        if percent:
            lo, hi = max(lo, 0.0), min(hi, 100.0)
        right = Panel(svg, 480, top, 780, bottom, xdom, (lo, hi, ystep))
        dec = _decimals(ystep)
        right.axes("test accuracy", "accuracy (%)" if percent else "accuracy",
                   (lambda t: "%.*f" % (dec, t)))
        pts = [(right.px(s), right.py(v * scale)) for s, v in acc]
        svg.polyline(pts, "#2ca02c", 1.6)
        r = 3.4 if len(pts) <= 40 else 2.2
        for x, y in pts:
            svg.add('<circle cx="%.1f" cy="%.1f" r="%g" fill="#2ca02c" stroke="#ffffff" '
                    'stroke-width="0.8"/>' % (x, y, r))
        _label_points(svg, right, acc, pts, scale, percent)
    else:
        right = Panel(svg, 480, top, 780, bottom, xdom, (0, 100, 20))
        right.axes("test accuracy", "accuracy (%)", lambda t: "%.0f" % t)
        right.no_data("no 'accuracy' scalars")

    data = svg.render()
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(data)
    except OSError as e:
        raise CurveError("%s: cannot write: %s" % (path, e.strerror or e))


def _label_points(svg, panel, acc, pts, scale, percent):
    """Labels the accuracy points with their values, above the point or below
    it, skipping a label that would overlap one already placed. The last
    point, the best one and the first one are labelled first."""
    size = 10
    order = list(range(len(pts)))
    best = max(order, key=lambda i: acc[i][1])
    first = [len(pts) - 1, best, 0]
    if len(pts) > 16:                       # many evaluations: about 8 labels
        k = int(math.ceil(len(pts) / 8.0))
        order = [i for i in order if i % k == 0]
    order = first + [i for i in order if i not in first]
    seen = set()
    placed = []
    for i in order:
        if i in seen:
            continue
        seen.add(i)
        v = acc[i][1] * scale
        label = ("%.1f%%" % v) if percent else ("%.3g" % v)
        w = text_width(label, size) + 2
        x, y = pts[i]
        x = min(max(x, panel.x0 + w / 2), panel.x1 - w / 2 + 12)
        # above a peak, below a dip: away from the line through the neighbours
        near = [pts[k][1] for k in (i - 1, i + 1) if 0 <= k < len(pts)]
        dip = bool(near) and y > sum(near) / len(near) + 1   # SVG y grows downwards
        for dy in ((16, -8) if dip else (-8, 16)):          # the baseline below or above
            by = y + dy
            box = (x - w / 2, by - size, x + w / 2, by + 2)
            if box[1] < panel.y0 - 8 or box[3] > panel.y1 - 2:
                continue
            if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                continue
            if any(box[0] - 2 < px < box[2] + 2 and box[1] - 2 < py < box[3] + 2
                   for k, (px, py) in enumerate(pts) if k != i):
                continue
            placed.append(box)
            weight = "bold" if i == best else None
            svg.text(x, by, label, size=size, anchor="middle", fill="#1b5e20", weight=weight,
                     extra=' stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke"')
            break


# ---------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(
        prog=PROG,
        description="Training curves from TensorBoard event files (graphrun train --logdir): "
                    "a table of the evaluations, an SVG chart, or the tags.")
    ap.add_argument("run", metavar="RUN", help="an event file, or a log directory holding event files")
    ap.add_argument("--svg", metavar="OUT.svg", help="write a chart of loss and accuracy against step")
    ap.add_argument("--title", help="the chart's title (default: RUN's name)")
    ap.add_argument("--smooth", metavar="N", type=int,
                    help="plot the training loss as the mean per N steps (default: about 60 points)")
    ap.add_argument("--tags", action="store_true", help="list the tags with their counts instead of the table")
    args = ap.parse_args(argv)
    if args.smooth is not None and args.smooth < 1:
        ap.error("--smooth must be at least 1")

    label = args.run.rstrip("/") or args.run
    try:
        run = load(args.run)
        if args.tags:
            print_tags(run, label, sys.stdout)
        else:
            print_table(run, label, sys.stdout)
        if args.svg:
            title = args.title if args.title is not None else os.path.basename(label) or label
            write_svg(run, args.svg, title, args.smooth)
        sys.stdout.flush()
    except CurveError as e:
        sys.stdout.flush()
        sys.stderr.write("%s: error: %s\n" % (PROG, e))
        return 1
    except BrokenPipeError:
        # the reader went away (| head): no "Exception ignored" at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
