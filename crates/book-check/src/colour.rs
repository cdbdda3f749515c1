//! Colours as the browser computes them, and WCAG 2 contrast: whether chart
//! text and lines stay readable on the background a theme gives them.

/// An sRGB colour with its opacity (0 = transparent, 1 = opaque).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Colour {
    /// Red, green, blue, 0–255.
    pub rgb: [f64; 3],
    /// Opacity, 0–1.
    pub alpha: f64,
}

/// Text needs 4.5:1 against its background (WCAG 2, level AA).
pub const TEXT_CONTRAST: f64 = 4.5;
/// Lines and other graphics need 3:1 (WCAG 2.1, non-text contrast).
pub const GRAPHICS_CONTRAST: f64 = 3.0;

impl Colour {
    /// Opaque white.
    pub const WHITE: Colour = Colour {
        rgb: [255.0, 255.0, 255.0],
        alpha: 1.0,
    };

    /// Parses what `getComputedStyle` gives (`rgb(…)`, `rgba(…)`) or an SVG
    /// attribute (`#rrggbb`, `#rgb`); `None` for `none`, `transparent` and
    /// anything else.
    pub fn parse(text: &str) -> Option<Colour> {
        let text = text.trim();
        if let Some(hex) = text.strip_prefix('#') {
            return parse_hex(hex);
        }
        let inner = text
            .strip_prefix("rgba(")
            .or_else(|| text.strip_prefix("rgb("))?
            .strip_suffix(')')?;
        let parts: Vec<f64> = inner
            .split([',', '/', ' '])
            .filter(|p| !p.is_empty())
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .ok()?;
        match parts.as_slice() {
            [r, g, b] => Some(Colour {
                rgb: [*r, *g, *b],
                alpha: 1.0,
            }),
            [r, g, b, a] => Some(Colour {
                rgb: [*r, *g, *b],
                alpha: *a,
            }),
            _ => None,
        }
    }

    /// This colour, with `opacity` more transparency, painted over `below`.
    pub fn over(self, below: Colour, opacity: f64) -> Colour {
        let a = (self.alpha * opacity).clamp(0.0, 1.0);
        let mix = |i: usize| self.rgb[i] * a + below.rgb[i] * (1.0 - a);
        Colour {
            rgb: [mix(0), mix(1), mix(2)],
            alpha: 1.0,
        }
    }

    /// Relative luminance (WCAG 2).
    pub fn luminance(self) -> f64 {
        let linear = |c: f64| {
            let c = c / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * linear(self.rgb[0]) + 0.7152 * linear(self.rgb[1]) + 0.0722 * linear(self.rgb[2])
    }
}

fn parse_hex(hex: &str) -> Option<Colour> {
    let digits: Vec<u8> = match hex.len() {
        3 => hex
            .chars()
            .flat_map(|c| [c, c])
            .collect::<String>()
            .into_bytes(),
        6 => hex.as_bytes().to_vec(),
        _ => return None,
    };
    let channel = |i: usize| {
        u8::from_str_radix(std::str::from_utf8(&digits[i..i + 2]).ok()?, 16)
            .ok()
            .map(f64::from)
    };
    Some(Colour {
        rgb: [channel(0)?, channel(2)?, channel(4)?],
        alpha: 1.0,
    })
}

/// The contrast ratio of two opaque colours, from 1 (none) to 21.
pub fn contrast(a: Colour, b: Colour) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_on_white_is_21_to_1_and_a_colour_on_itself_1_to_1() {
        let black = Colour::parse("rgb(0, 0, 0)").unwrap();
        assert!((contrast(black, Colour::WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast(Colour::WHITE, Colour::WHITE) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn css_and_svg_spellings_parse() {
        assert_eq!(Colour::parse("#fff"), Some(Colour::WHITE));
        assert_eq!(Colour::parse("#FFFFFF"), Some(Colour::WHITE));
        let half = Colour::parse("rgba(0, 0, 0, 0.5)").unwrap();
        assert_eq!(half.alpha, 0.5);
        assert_eq!(Colour::parse("none"), None);
        assert_eq!(Colour::parse("rgb(1, 2)"), None);
    }

    #[test]
    fn faint_grey_text_fails_and_a_transparent_layer_shows_what_is_below() {
        // Black at 30% opacity on white: a light grey, below 4.5:1.
        let black = Colour::parse("#000000").unwrap();
        let grey = black.over(Colour::WHITE, 0.3);
        assert!(contrast(grey, Colour::WHITE) < TEXT_CONTRAST);
        let clear = Colour::parse("rgba(0, 0, 0, 0)").unwrap();
        assert_eq!(clear.over(Colour::WHITE, 1.0), Colour::WHITE);
    }
}
