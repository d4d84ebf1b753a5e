//! JUnit XML for `check`: every objective of every strategy is a test case, so CI systems
//! show drill results as test results.

use std::io::Write;

/// One checked objective or regression.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// `scenario.strategy`.
    pub class: String,
    /// What was checked, e.g. `ttr_mean ≤ 30m`.
    pub name: String,
    /// `None` when it passed; otherwise why it failed.
    pub failure: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `suites` (a name and its cases each) as one `<testsuites>` document.
pub fn write_junit(suites: &[(String, Vec<Case>)], mut out: impl Write) -> std::io::Result<()> {
    let total: usize = suites.iter().map(|(_, c)| c.len()).sum();
    let failed: usize = suites
        .iter()
        .flat_map(|(_, c)| c)
        .filter(|c| c.failure.is_some())
        .count();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="rehearsal check" tests="{total}" failures="{failed}">"#
    )?;
    for (suite, cases) in suites {
        let f = cases.iter().filter(|c| c.failure.is_some()).count();
        writeln!(
            out,
            r#"  <testsuite name="{}" tests="{}" failures="{f}">"#,
            escape(suite),
            cases.len()
        )?;
        for c in cases {
            let open = format!(
                r#"    <testcase classname="{}" name="{}""#,
                escape(&c.class),
                escape(&c.name)
            );
            match &c.failure {
                None => writeln!(out, "{open}/>")?,
                Some(why) => {
                    writeln!(out, "{open}>")?;
                    writeln!(
                        out,
                        r#"      <failure message="{}">{}</failure>"#,
                        escape(why),
                        escape(why)
                    )?;
                    writeln!(out, "    </testcase>")?;
                }
            }
        }
        writeln!(out, "  </testsuite>")?;
    }
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_failures_and_escapes() {
        let cases = vec![
            Case {
                class: "s.a".into(),
                name: "ttr_mean ≤ 30m".into(),
                failure: None,
            },
            Case {
                class: "s.b".into(),
                name: "affected <1%".into(),
                failure: Some("2% > 1% & more".into()),
            },
        ];
        let mut out = Vec::new();
        write_junit(&[("s".into(), cases)], &mut out).unwrap();
        let xml = String::from_utf8(out).unwrap();
        assert!(xml.contains(r#"<testsuites name="rehearsal check" tests="2" failures="1">"#));
        assert!(xml.contains(r#"name="affected &lt;1%""#));
        assert!(xml.contains(r#"<failure message="2% &gt; 1% &amp; more">"#));
    }
}
