//! Bar charts as SVG drawn on the server (presentation attributes and stylesheet classes only, so the
//! strict CSP allows them); each bar carries a `<title>` with its exact value.

use maud::{Markup, html};

/// One bar: its label under the axis (may be empty), its height value and its tooltip.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub title: String,
}

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 140.0;
const PLOT: f64 = 110.0;

/// A bar chart of `bars`, left to right; `caption` names what is drawn and `max_label` the top of the
/// scale.
pub fn bars(caption: &str, bars: &[Bar], max_label: impl Fn(f64) -> String) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let n = bars.len().max(1) as f64;
    let step = WIDTH / n;
    let width = (step * 0.8).max(1.0);
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
                role="img" aria-label=(caption) {
                line.axis x1="0" y1=(PLOT) x2=(WIDTH) y2=(PLOT) {}
                @for (i, b) in bars.iter().enumerate() {
                    @let h = if max > 0.0 { b.value / max * (PLOT - 10.0) } else { 0.0 };
                    @let x = i as f64 * step + (step - width) / 2.0;
                    rect.bar x=(format!("{x:.1}")) y=(format!("{:.1}", PLOT - h))
                        width=(format!("{width:.1}")) height=(format!("{h:.1}")) {
                        title { (b.title) }
                    }
                    @if !b.label.is_empty() {
                        text.tick x=(format!("{:.1}", x + width / 2.0)) y=(PLOT + 16.0) text-anchor="middle" { (b.label) }
                    }
                }
                text.tick x="2" y="10" { (max_label(max)) }
            }
            figcaption { (caption) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_escape_their_text() {
        let svg = bars(
            "spend",
            &[
                Bar {
                    label: "a".into(),
                    value: 1.0,
                    title: "<b>1</b>".into(),
                },
                Bar {
                    label: String::new(),
                    value: 4.0,
                    title: "4".into(),
                },
            ],
            |m| format!("{m}"),
        )
        .into_string();
        assert!(svg.contains("height=\"100.0\""), "{svg}");
        assert!(svg.contains("height=\"25.0\""), "{svg}");
        assert!(svg.contains("&lt;b&gt;1"), "{svg}");
        let empty = bars("none", &[], |m| format!("{m}")).into_string();
        assert!(empty.contains("<svg"), "{empty}");
    }
}
