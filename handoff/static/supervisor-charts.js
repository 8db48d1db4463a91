// Small SVG charts for the supervisor page: columns and lines over time buckets.
// Drawn with createElementNS only (no innerHTML, no library); every value is
// shown in a <title> so hovering a column or point tells its exact number.
// Drawn at the container's width in CSS pixels, margins fitted to the measured
// labels, and drawn again when the container's width changes.

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 200;
const MIN_WIDTH = 160;
// Space around the plot beyond what the labels need.
const GAP = {top: 12, right: 8, bottom: 8, left: 8, label: 6, between: 10};
const TICKS = 4;
const drawn = new WeakMap(); // container -> its latest drawing, redrawn on resize

function el(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (value <= step * power) return step * power;
  }
  return 10 * power;
}

// Counts get whole-number gridlines: the top is a multiple of the tick count.
function topOf(values, {max, integer, ticks}) {
  if (max !== undefined) return max;
  const highest = Math.max(0, ...values);
  if (integer) return Math.max(ticks, Math.ceil(highest / ticks) * ticks);
  return niceMax(highest);
}

const widthOf = (text) => text.getBBox().width;

/**
 * The chart's frame at the container's own width, in CSS pixels (no scaling, so
 * labels keep their size on a phone). The labels are drawn first and measured:
 * the left margin fits the widest value label, the bottom labels are thinned out
 * until they no longer touch, and the right margin fits half the last one.
 */
function frame(container, points, {max, format, integer, ticks = TICKS}) {
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const top = topOf(values, {max, integer, ticks});
  const width = Math.max(MIN_WIDTH, Math.floor(container.clientWidth));
  const caption = container.closest("figure")?.querySelector("figcaption")?.textContent.trim() || "";
  const highest = values.length ? format(Math.max(...values)) : "–";
  const svg = el("svg", {
    width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, class: "chart-svg", role: "img",
    "aria-label": `${caption} — ${points.length} 구간 / buckets, 최고 / highest ${highest}`,
    "data-points": points.length,
  });
  container.replaceChildren(svg);

  const tickLabels = [];
  for (let i = 0; i <= ticks; i += 1) {
    const label = el("text", {class: "axis", "text-anchor": "end"}, format((top / ticks) * i));
    svg.append(label);
    tickLabels.push(label);
  }
  const bucketLabels = points.map((point) => {
    const label = el("text", {class: "axis", "text-anchor": "middle"}, point.label);
    svg.append(label);
    return label;
  });
  const tickWidth = Math.max(0, ...tickLabels.map(widthOf));
  const bucketWidth = Math.max(0, ...bucketLabels.map(widthOf));
  const lineHeight = Math.max(0, ...[...tickLabels, ...bucketLabels].map((t) => t.getBBox().height));

  const pad = {
    top: GAP.top,
    bottom: GAP.bottom + lineHeight + GAP.label,
    left: Math.ceil(Math.max(GAP.left + tickWidth + GAP.label, GAP.left + bucketWidth / 2)),
    right: Math.ceil(GAP.right + bucketWidth / 2),
  };
  const plotW = width - pad.left - pad.right;
  const plotH = HEIGHT - pad.top - pad.bottom;
  const slot = plotW / Math.max(points.length, 1);
  const y = (v) => pad.top + plotH - (Math.min(v, top) / top) * plotH;
  const x = (index) => pad.left + slot * (index + 0.5);

  tickLabels.forEach((label, i) => {
    const value = (top / ticks) * i;
    label.setAttribute("x", pad.left - GAP.label);
    label.setAttribute("y", y(value) + lineHeight / 3);
    svg.insertBefore(el("line", {
      x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid",
    }), svg.firstChild);
  });
  const every = Math.max(1, Math.ceil((bucketWidth + GAP.between) / slot));
  bucketLabels.forEach((label, index) => {
    if (index % every) {
      label.remove();
      return;
    }
    label.setAttribute("x", x(index));
    label.setAttribute("y", HEIGHT - GAP.bottom - lineHeight / 4);
  });
  return {svg, y, x, slot};
}

/** Draw once the container has a size, and again whenever it changes. */
function draw(container, render) {
  drawn.set(container, render);
  if (!container.clientWidth) return;
  render();
}

const resized = typeof ResizeObserver === "function"
  ? new ResizeObserver((entries) => {
    for (const entry of entries) {
      const container = entry.target;
      const svg = container.querySelector("svg");
      const width = Math.floor(container.clientWidth);
      if (width && (!svg || Number(svg.getAttribute("width")) !== Math.max(MIN_WIDTH, width))) {
        drawn.get(container)?.();
      }
    }
  })
  : null;

function observe(container) {
  if (resized && !drawn.has(container)) resized.observe(container);
}

/**
 * Columns: points = [{label, title, value}], value null for "no data".
 * options: format(value) for labels, max (fixed top), integer (whole-number
 * gridlines), ticks (number of gridline steps).
 */
export function columnChart(container, points, options = {}) {
  const {format = String} = options;
  observe(container);
  draw(container, () => {
    const {svg, y, x, slot} = frame(container, points, {...options, format});
    const width = Math.max(2, slot * 0.7);
    points.forEach((point, index) => {
      if (point.value === null || point.value === undefined) return;
      const top = y(point.value);
      const bar = el("rect", {
        x: x(index) - width / 2, y: top,
        width, height: Math.max(0, y(0) - top), class: "bar", "data-testid": "chart-bar",
        "data-value": point.value,
      });
      bar.append(el("title", {}, `${point.title}: ${format(point.value)}`));
      svg.append(bar);
    });
  });
}

/** A line through the buckets that have a value; gaps where they have none. */
export function lineChart(container, points, options = {}) {
  const {format = String} = options;
  observe(container);
  draw(container, () => {
    const {svg, y, x} = frame(container, points, {...options, format});
    let path = "";
    let pen = false;
    points.forEach((point, index) => {
      if (point.value === null || point.value === undefined) {
        pen = false;
        return;
      }
      path += `${pen ? "L" : "M"}${x(index).toFixed(1)},${y(point.value).toFixed(1)}`;
      pen = true;
    });
    if (path) svg.append(el("path", {d: path, class: "line"}));
    points.forEach((point, index) => {
      if (point.value === null || point.value === undefined) return;
      const dot = el("circle", {
        cx: x(index), cy: y(point.value), r: 3.5, class: "dot",
        "data-testid": "chart-point", "data-value": point.value,
      });
      dot.append(el("title", {}, `${point.title}: ${format(point.value)}`));
      svg.append(dot);
    });
  });
}
