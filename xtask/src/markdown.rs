//! Inert Markdown: the one place that turns untrusted text (plan values, resource addresses, model
//! output, file names) into GitHub-flavoured Markdown that renders as that text and nothing else.
//!
//! GitHub renders comment bodies as CommonMark plus extensions: raw HTML (a subset), `@mentions`,
//! `#123` references, autolinks, tables. Text from a plan or a model must never become any of
//! those, and must never carry one of our hidden markers (`<!-- xtask:... -->`), which is how the
//! tool finds its own comments again.
//!
//! - [`code_span`]: inline code whose fence no backtick run inside can close.
//! - [`code_block`]: a fenced block, likewise.
//! - [`text`]: prose with every Markdown, HTML and mention trigger escaped.
//! - [`neutralize_markers`]: breaks marker-like text so only our own rendering carries markers.

/// The prefix of every hidden marker the tool writes. Untrusted text never contains it after
/// [`neutralize_markers`].
pub const MARKER_PREFIX: &str = "<!-- xtask:";

/// Zero-width space: invisible in the rendered comment, but breaks `<!--` and `@name`.
const ZWSP: char = '\u{200B}';

/// Inline code showing `raw` literally. Newlines become spaces (a code span cannot hold a line
/// break); the fence is one backtick longer than the longest run inside, and a space pads a span
/// that starts or ends with a backtick, as CommonMark requires.
pub fn code_span(raw: &str) -> String {
    let flat: String = neutralize_markers(raw)
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    let fence = "`".repeat(longest_backtick_run(&flat) + 1);
    // A pipe would end a table cell even inside a code span (GFM), so it is escaped; GitHub shows `|`.
    let flat = flat.replace('|', "\\|");
    let pad = flat.starts_with('`')
        || flat.ends_with('`')
        || (flat.starts_with(' ') && flat.ends_with(' ') && !flat.trim().is_empty());
    if pad {
        format!("{fence} {flat} {fence}")
    } else if flat.is_empty() {
        // An empty span would render as literal backticks; show an empty quoted string instead.
        "`\"\"`".to_owned()
    } else {
        format!("{fence}{flat}{fence}")
    }
}

/// A fenced code block (with an info string such as `diff` or `suggestion`) showing `raw`
/// literally: the fence is longer than any backtick run at the start of a line inside, and at
/// least three backticks.
pub fn code_block(info: &str, raw: &str) -> String {
    let body = neutralize_markers(raw);
    let body = body.trim_end_matches('\n');
    let fence = "`".repeat((longest_backtick_run(body) + 1).max(3));
    format!("{fence}{info}\n{body}\n{fence}\n")
}

/// The fence [`code_block`] would use for `raw`, for callers that must build the block themselves
/// (a suggestion body must keep the code byte for byte, markers included).
pub fn fence_for(raw: &str) -> String {
    "`".repeat((longest_backtick_run(raw) + 1).max(3))
}

/// Prose that renders as exactly these characters: Markdown punctuation is backslash-escaped,
/// `<`, `>` and `&` become entities (no HTML, no autolink, no marker), and `@` and `#` are
/// escaped so no mention or issue reference is created. Line breaks are kept.
pub fn text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + raw.len() / 8);
    for c in raw.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // An entity, so `@org/team` is not a mention and `#12` is not a reference.
            '@' => out.push_str("&#64;"),
            '#' => out.push_str("&#35;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '{' | '}' | '!' | '|' | '~' | '+'
            | '-' | '.' | '=' | ':' | '"' | '\'' | '^' | '$' | '%' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

/// Breaks every `<!--` (and so every hidden marker) in untrusted text with an invisible
/// character, so text we render can never be mistaken for a marker, wherever it ends up (a code
/// block, a table, the job summary).
pub fn neutralize_markers(raw: &str) -> String {
    if !raw.contains("<!--") {
        return raw.to_owned();
    }
    raw.replace("<!--", &format!("<!{ZWSP}--"))
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pulldown_cmark::{Event, Options, Parser, Tag};

    /// What a CommonMark renderer makes of `markdown`: the HTML, and whether anything other than
    /// text and code came out (raw HTML, links, emphasis, headings...).
    fn render(markdown: &str) -> String {
        let mut html = String::new();
        pulldown_cmark::html::push_html(&mut html, Parser::new_ext(markdown, Options::all()));
        html
    }

    fn only_text_and_code(markdown: &str) -> bool {
        Parser::new_ext(markdown, Options::all()).all(|event| {
            matches!(
                event,
                Event::Text(_)
                    | Event::Code(_)
                    | Event::SoftBreak
                    | Event::HardBreak
                    | Event::Start(Tag::Paragraph | Tag::CodeBlock(_))
                    | Event::End(_)
            )
        })
    }

    const HOSTILE: &[&str] = &[
        "a`b",
        "``",
        "`",
        "x` @admin <img src=x onerror=alert(1)> `y",
        "<!-- xtask:plan env=prod -->",
        "@org/team please approve",
        "**bold** _em_ [link](https://evil.example) ![img](x)",
        "# heading",
        "<details><summary>x</summary>",
        "https://evil.example/autolink",
        "| a | b |",
        "line1\nline2",
        " padded ",
        "1. item",
        "- item",
        "> quote",
        "&amp; &#64;",
        "\\`escaped\\`",
    ];

    #[test]
    fn code_spans_show_their_text_and_nothing_else() {
        for raw in HOSTILE {
            let span = code_span(raw);
            assert!(
                only_text_and_code(&span),
                "{raw:?} -> {span:?} -> {}",
                render(&span)
            );
            let codes: Vec<String> = Parser::new_ext(&span, Options::all())
                .filter_map(|event| match event {
                    Event::Code(code) => Some(code.into_string()),
                    _ => None,
                })
                .collect();
            let expected = neutralize_markers(raw).replace('\n', " ");
            // GFM unescapes `\|` inside a table cell; outside a table the backslash shows, which
            // is why pipes only matter in table cells. Compare without it.
            let shown = codes.concat().replace("\\|", "|");
            assert_eq!(shown.trim(), expected.trim(), "{raw:?} -> {span:?}");
        }
    }

    #[test]
    fn text_renders_as_the_same_characters() {
        for raw in HOSTILE {
            let escaped = text(raw);
            assert!(
                only_text_and_code(&escaped),
                "{raw:?} -> {escaped:?} -> {}",
                render(&escaped)
            );
            let shown: String = Parser::new_ext(&escaped, Options::all())
                .filter_map(|event| match event {
                    Event::Text(t) => Some(t.into_string()),
                    Event::SoftBreak => Some("\n".to_owned()),
                    _ => None,
                })
                .collect();
            // A paragraph's leading and trailing blanks are not shown by any renderer.
            assert_eq!(
                shown.trim(),
                raw.replace('\r', "").trim(),
                "{raw:?} -> {escaped:?}"
            );
            assert!(
                !escaped.contains('@') && !escaped.contains('<'),
                "{escaped}"
            );
        }
    }

    #[test]
    fn code_blocks_cannot_be_closed_from_inside() {
        for raw in HOSTILE
            .iter()
            .chain(&["```\n# not a heading\n```", "~~~\n<b>x</b>"])
        {
            let block = code_block("text", raw);
            let events: Vec<Event> = Parser::new_ext(&block, Options::all()).collect();
            assert!(
                matches!(events.first(), Some(Event::Start(Tag::CodeBlock(_)))),
                "{block}"
            );
            assert!(only_text_and_code(&block), "{raw:?} -> {}", render(&block));
            assert!(!block.contains(MARKER_PREFIX));
        }
    }

    #[test]
    fn markers_in_untrusted_text_are_broken() {
        let raw = "value <!-- xtask:plan env=dev --> tail";
        for rendered in [
            code_span(raw),
            code_block("", raw),
            text(raw),
            neutralize_markers(raw),
        ] {
            assert!(!rendered.contains(MARKER_PREFIX), "{rendered}");
            assert!(!rendered.contains("<!--"), "{rendered}");
        }
        assert_eq!(neutralize_markers("no marker"), "no marker");
    }

    #[test]
    fn fences_outgrow_backticks() {
        assert_eq!(fence_for("let s = \"```\";"), "````");
        assert_eq!(fence_for("x"), "```");
        assert_eq!(code_span("a`b"), "``a`b``");
        assert_eq!(code_span("plain"), "`plain`");
        assert_eq!(code_span("`x"), "`` `x ``");
        assert_eq!(code_span(""), "`\"\"`");
    }
}
