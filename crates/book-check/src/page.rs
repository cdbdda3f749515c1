//! What the browser reports about a page: small scripts run in the page,
//! each answering one question as JSON, and the types they answer with.

use serde::Deserialize;

/// Everything a reader sees on a chapter in the default theme.
#[derive(Debug, Deserialize)]
pub struct Facts {
    /// Every chart (`svg.lab-chart`) in the chapter.
    pub charts: Vec<Chart>,
    /// Every verdict badge (pass, fail, skipped).
    pub verdicts: Vec<Badge>,
    /// Every code block.
    pub code: Vec<Code>,
    /// Every link's `href`, as written.
    pub links: Vec<String>,
    /// Every element id on the page.
    pub ids: Vec<String>,
}

/// A chart as laid out.
#[derive(Debug, Deserialize)]
pub struct Chart {
    /// Its size in CSS pixels.
    pub width: f64,
    /// Its size in CSS pixels.
    pub height: f64,
    /// Neither it nor a parent is hidden.
    pub shown: bool,
    /// The text of its `<title>`, which a screen reader says.
    pub title: String,
    /// Its texts that reach past its edges, where the chart cuts them off.
    pub cut: Vec<String>,
}

/// A verdict badge as laid out.
#[derive(Debug, Deserialize)]
pub struct Badge {
    /// Its word.
    pub text: String,
    /// Its size in CSS pixels.
    pub width: f64,
    /// Its size in CSS pixels.
    pub height: f64,
    /// Neither it nor a parent is hidden.
    pub shown: bool,
    /// Its text colour, as computed.
    pub colour: String,
    /// Its background colour, as computed.
    pub background: String,
}

/// A code block.
#[derive(Debug, Deserialize)]
pub struct Code {
    /// Its language (`rust`, `python`, …), empty if none was given.
    pub language: String,
    /// highlight.js ran on it and marked at least one token.
    pub highlighted: bool,
}

/// Gathers [`Facts`].
pub const FACTS: &str = r#"
const main = document.querySelector('main') || document.body;
const size = e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; };
const shown = e => {
  for (let n = e; n && n.nodeType === 1; n = n.parentElement) {
    const s = getComputedStyle(n);
    if (s.display === 'none' || s.visibility === 'hidden' || parseFloat(s.opacity) === 0) return false;
  }
  return true;
};
return {
  charts: [...main.querySelectorAll('svg.lab-chart')].map(svg => {
    const [width, height] = size(svg);
    const title = svg.querySelector(':scope > title');
    const box = svg.getBoundingClientRect();
    const cut = [...svg.querySelectorAll('text')].filter(t => {
      const r = t.getBoundingClientRect();
      return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1);
    }).map(t => t.textContent.trim().slice(0, 40));
    return { width, height, shown: shown(svg), title: title ? title.textContent.trim() : '', cut };
  }),
  verdicts: [...main.querySelectorAll('.verdict')].map(v => {
    const [width, height] = size(v);
    const s = getComputedStyle(v);
    return { text: v.textContent.trim(), width, height, shown: shown(v), colour: s.color, background: s.backgroundColor };
  }),
  code: [...main.querySelectorAll('pre > code')].map(c => ({
    language: ([...c.classList].find(k => k.startsWith('language-')) || '').slice('language-'.length),
    highlighted: c.classList.contains('hljs') && c.querySelector('[class^="hljs-"], [class*=" hljs-"]') !== null,
  })),
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
};
"#;

/// What is wider than a phone's screen on a page.
#[derive(Debug, Deserialize)]
pub struct Overflow {
    /// The viewport's width in CSS pixels.
    pub viewport: f64,
    /// The page's width: more than the viewport means it scrolls sideways.
    pub page: f64,
    /// Elements of the chapter that reach past the screen's right edge and
    /// are not inside a box that scrolls on its own, described briefly.
    pub wide: Vec<String>,
}

/// Gathers [`Overflow`].
pub const OVERFLOW: &str = r#"
const viewport = document.documentElement.clientWidth;
const page = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
const main = document.querySelector('main') || document.body;
const scrollsAlone = e => {
  for (let n = e.parentElement; n && n !== main.parentElement; n = n.parentElement) {
    const o = getComputedStyle(n).overflowX;
    if (o === 'auto' || o === 'scroll') return true;
  }
  return false;
};
const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (typeof e.className === 'string' && e.className ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
  ' (' + Math.round(e.getBoundingClientRect().right) + ' px)';
// A chart's insides are drawn within the chart's box (an <svg> clips them);
// the box itself is what must fit.
const wide = [...main.querySelectorAll('*')]
  .filter(e => !(e.parentElement && e.parentElement.closest('svg')))
  .filter(e => e.getBoundingClientRect().right > viewport + 1 && !scrollsAlone(e))
  .filter(e => !e.parentElement || e.parentElement.getBoundingClientRect().right <= viewport + 1 || scrollsAlone(e.parentElement))
  .slice(0, 5)
  .map(describe);
return { viewport, page, wide };
"#;

/// A chart's colours in the current theme.
#[derive(Debug, Deserialize)]
pub struct ChartColours {
    /// Its title, to name it in a problem.
    pub title: String,
    /// Background colours from the chart up to the page's root, as computed.
    pub backgrounds: Vec<String>,
    /// Each text's fill and effective opacity.
    pub texts: Vec<Paint>,
    /// Each data mark's colour (a line's stroke, a point's stroke, a bar's
    /// fill) and effective opacity.
    pub marks: Vec<Paint>,
}

/// A colour and the opacity it is painted with.
#[derive(Debug, Deserialize)]
pub struct Paint {
    /// As computed, e.g. `rgb(70, 130, 180)`.
    pub colour: String,
    /// The product of the element's and its SVG parents' opacities.
    pub opacity: f64,
    /// What it is, to name it in a problem (`text "2 threads"`, `polyline`).
    pub what: String,
}

/// Gathers the [`ChartColours`] of every chart.
pub const CHART_COLOURS: &str = r#"
const opacity = (e, kind) => {
  let o = 1;
  for (let n = e; n && n.tagName.toLowerCase() !== 'html'; n = n.parentElement) {
    const s = getComputedStyle(n);
    o *= parseFloat(s.opacity);
    if (n === e) o *= parseFloat(kind === 'fill' ? s.fillOpacity : s.strokeOpacity);
    if (n.classList && n.classList.contains('lab-chart')) break;
  }
  return o;
};
const paint = (e, kind, what) => ({ colour: getComputedStyle(e)[kind], opacity: opacity(e, kind), what });
return [...document.querySelectorAll('main svg.lab-chart')].map(svg => {
  const backgrounds = [];
  for (let n = svg; n; n = n.parentElement) backgrounds.push(getComputedStyle(n).backgroundColor);
  const title = svg.querySelector(':scope > title');
  const texts = [...svg.querySelectorAll('text')]
    .filter(t => t.textContent.trim() !== '')
    .map(t => paint(t, 'fill', 'text "' + t.textContent.trim().slice(0, 40) + '"'));
  const marks = [
    ...[...svg.querySelectorAll('polyline, circle')].map(e => paint(e, 'stroke', e.tagName.toLowerCase())),
    ...[...svg.querySelectorAll('rect')].map(e => paint(e, 'fill', 'rect')),
  ];
  return { title: title ? title.textContent.trim() : '(untitled)', backgrounds, texts, marks };
});
"#;

/// The links in the search results, or `null` while there are none.
pub const SEARCH_RESULTS: &str = r#"
const links = [...document.querySelectorAll('#mdbook-searchresults a[href]')].map(a => a.getAttribute('href'));
return links.length ? links : null;
"#;
