// Small SVG charts for the supervisor page: columns and lines over time buckets.
// Drawn with createElementNS only (no innerHTML, no library); every value is
// shown in a <title> so hovering a column or point tells its exact number.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 560;
const HEIGHT = 200;
const PAD = {top: 12, right: 12, bottom: 26, left: 44};
const TICKS = 4;

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

function frame(points, {max, format, integer, ticks = TICKS}) {
  const values = points.map((p) => p.value).filter((v) => v !== null && v !== undefined);
  const top = topOf(values, {max, integer, ticks});
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "chart-svg", role: "img",
    "data-points": points.length,
  });
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const y = (v) => PAD.top + plotH - (Math.min(v, top) / top) * plotH;
  for (let i = 0; i <= ticks; i += 1) {
    const value = (top / ticks) * i;
    svg.append(
      el("line", {x1: PAD.left, x2: WIDTH - PAD.right, y1: y(value), y2: y(value), class: "grid"}),
      el("text", {x: PAD.left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end"},
        format(value)),
    );
  }
  // Label at most about eight buckets so the axis stays readable.
  const every = Math.max(1, Math.ceil(points.length / 8));
  const slot = plotW / Math.max(points.length, 1);
  points.forEach((point, index) => {
    if (index % every) return;
    svg.append(el("text", {
      x: PAD.left + slot * (index + 0.5), y: HEIGHT - 8, class: "axis", "text-anchor": "middle",
    }, point.label));
  });
  return {svg, y, slot};
}

/**
 * Columns: points = [{label, title, value}], value null for "no data".
 * options: format(value) for labels, max (fixed top), integer (whole-number
 * gridlines), ticks (number of gridline steps).
 */
export function columnChart(container, points, options = {}) {
  const {format = String} = options;
  const {svg, y, slot} = frame(points, {...options, format});
  const width = Math.max(2, slot * 0.7);
  points.forEach((point, index) => {
    if (point.value === null || point.value === undefined) return;
    const top = y(point.value);
    const bar = el("rect", {
      x: PAD.left + slot * index + (slot - width) / 2, y: top,
      width, height: Math.max(0, y(0) - top), class: "bar", "data-testid": "chart-bar",
      "data-value": point.value,
    });
    bar.append(el("title", {}, `${point.title}: ${format(point.value)}`));
    svg.append(bar);
  });
  container.replaceChildren(svg);
}

/** A line through the buckets that have a value; gaps where they have none. */
export function lineChart(container, points, options = {}) {
  const {format = String} = options;
  const {svg, y, slot} = frame(points, {...options, format});
  let path = "";
  let pen = false;
  points.forEach((point, index) => {
    if (point.value === null || point.value === undefined) {
      pen = false;
      return;
    }
    const x = PAD.left + slot * (index + 0.5);
    path += `${pen ? "L" : "M"}${x.toFixed(1)},${y(point.value).toFixed(1)}`;
    pen = true;
  });
  if (path) svg.append(el("path", {d: path, class: "line"}));
  points.forEach((point, index) => {
    if (point.value === null || point.value === undefined) return;
    const dot = el("circle", {
      cx: PAD.left + slot * (index + 0.5), cy: y(point.value), r: 3.5, class: "dot",
      "data-testid": "chart-point", "data-value": point.value,
    });
    dot.append(el("title", {}, `${point.title}: ${format(point.value)}`));
    svg.append(dot);
  });
  container.replaceChildren(svg);
}
