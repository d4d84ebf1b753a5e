//! The PromQL subset rehearsal evaluates: expressions parsed by `promql-parser` and compiled
//! into a small tree, or rejected with the name of the function, operator or modifier that
//! is not supported.

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr as Ast, LabelModifier, VectorMatchCardinality};

use crate::engine::SimTime;

/// Functions evaluated, in the order docs/reference.md lists them.
pub const FUNCTIONS: [&str; 3] = ["rate", "increase", "histogram_quantile"];
/// Aggregation operators evaluated (each with `by (…)` or `without (…)`).
pub const AGGREGATIONS: [&str; 5] = ["sum", "avg", "max", "min", "count"];
/// Binary operators evaluated: arithmetic, comparison (with or without `bool`) and set.
pub const OPERATORS: [&str; 15] = [
    "+", "-", "*", "/", "%", "^", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless",
];

/// An aggregation operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregation {
    /// `sum`.
    Sum,
    /// `avg` (mean).
    Avg,
    /// `max`.
    Max,
    /// `min`.
    Min,
    /// `count` (number of series).
    Count,
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl Op {
    /// Whether the operator compares (filters, or gives 0/1 with `bool`).
    pub fn is_comparison(self) -> bool {
        matches!(self, Op::Eq | Op::Ne | Op::Gt | Op::Lt | Op::Ge | Op::Le)
    }

    /// Whether the operator is `and`, `or` or `unless`.
    pub fn is_set(self) -> bool {
        matches!(self, Op::And | Op::Or | Op::Unless)
    }
}

/// Which labels group series (aggregations) or match them (binary operators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSet {
    /// Only these labels (`by`, `on`).
    Only(Vec<String>),
    /// All labels but these (`without`, `ignoring`; empty for the default).
    AllBut(Vec<String>),
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub enum Expr {
    /// A number (a scalar).
    Number(f64),
    /// An instant vector selector: its label matchers, `__name__` included.
    Vector(Vec<Matcher>),
    /// `rate(selector[range])` (`per_second`) or `increase(selector[range])`.
    Rate {
        /// The selector's matchers.
        matchers: Vec<Matcher>,
        /// The range, `[5m]`.
        range: SimTime,
        /// `rate` (per second) rather than `increase`.
        per_second: bool,
    },
    /// `histogram_quantile(q, buckets)`.
    Quantile {
        /// The quantile, a scalar expression.
        q: Box<Expr>,
        /// The cumulative buckets, a vector with `le` labels.
        buckets: Box<Expr>,
    },
    /// An aggregation over groups of series.
    Aggregate {
        /// The operator.
        op: Aggregation,
        /// `by` or `without` labels.
        grouping: LabelSet,
        /// The aggregated vector.
        inner: Box<Expr>,
    },
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation; `matching` is its `on`/`ignoring` (one-to-one only).
    Binary {
        /// The operator.
        op: Op,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
        /// `on` or `ignoring` labels.
        matching: LabelSet,
        /// `bool`: a comparison gives 0 or 1 instead of filtering.
        return_bool: bool,
    },
}

impl Expr {
    /// Whether any selector of the expression can read metric `name`.
    pub fn reads(&self, name: &str) -> bool {
        let selects = |ms: &[Matcher]| {
            ms.iter()
                .filter(|m| m.name == "__name__")
                .all(|m| m.is_match(name))
        };
        match self {
            Expr::Number(_) => false,
            Expr::Vector(ms) | Expr::Rate { matchers: ms, .. } => selects(ms),
            Expr::Quantile { q, buckets: e } | Expr::Binary { lhs: q, rhs: e, .. } => {
                q.reads(name) || e.reads(name)
            }
            Expr::Aggregate { inner, .. } | Expr::Neg(inner) => inner.reads(name),
        }
    }

    /// The longest range any selector reads, look-back included.
    pub fn reach(&self) -> SimTime {
        match self {
            Expr::Number(_) => SimTime::ZERO,
            Expr::Vector(_) => super::series::LOOKBACK,
            Expr::Rate { range, .. } => *range,
            Expr::Quantile { q, buckets: e } | Expr::Binary { lhs: q, rhs: e, .. } => {
                q.reach().max(e.reach())
            }
            Expr::Aggregate { inner, .. } | Expr::Neg(inner) => inner.reach(),
        }
    }
}

/// Parses and compiles `text`; the error says what is wrong or not supported.
pub fn compile(text: &str) -> Result<Expr, String> {
    let ast = parser::parse(text).map_err(|e| format!("invalid PromQL: {}", e.trim()))?;
    build(&ast)
}

fn unsupported(what: &str) -> String {
    format!(
        "{what} is not supported; rehearsal evaluates the functions {}, the aggregations {} (with by or without) and the operators {} (one-to-one matching with on or ignoring)",
        FUNCTIONS.join(", "),
        AGGREGATIONS.join(", "),
        OPERATORS.join(" "),
    )
}

fn build(ast: &Ast) -> Result<Expr, String> {
    match ast {
        Ast::NumberLiteral(n) => Ok(Expr::Number(n.val)),
        Ast::Paren(p) => build(&p.expr),
        Ast::Unary(u) => Ok(Expr::Neg(Box::new(build(&u.expr)?))),
        Ast::VectorSelector(vs) => selector(vs).map(Expr::Vector),
        Ast::MatrixSelector(_) => Err(
            "a range vector (selector[range]) is only allowed inside rate() or increase()".into(),
        ),
        Ast::StringLiteral(s) => Err(unsupported(&format!("the string \"{}\"", s.val))),
        Ast::Subquery(_) => Err(unsupported("a subquery ([range:step])")),
        Ast::Extension(_) => Err(unsupported("an extension expression")),
        Ast::Call(call) => function(call),
        Ast::Aggregate(a) => {
            let name = a.op.to_string();
            let op = match name.as_str() {
                "sum" => Aggregation::Sum,
                "avg" => Aggregation::Avg,
                "max" => Aggregation::Max,
                "min" => Aggregation::Min,
                "count" => Aggregation::Count,
                _ => return Err(unsupported(&format!("the aggregation \"{name}\""))),
            };
            let grouping = match &a.modifier {
                None => LabelSet::Only(vec![]),
                Some(LabelModifier::Include(l)) => LabelSet::Only(l.labels.clone()),
                Some(LabelModifier::Exclude(l)) => LabelSet::AllBut(l.labels.clone()),
            };
            Ok(Expr::Aggregate {
                op,
                grouping,
                inner: Box::new(build(&a.expr)?),
            })
        }
        Ast::Binary(b) => binary(b),
    }
}

fn binary(b: &parser::BinaryExpr) -> Result<Expr, String> {
    let name = b.op.to_string();
    let op = match name.as_str() {
        "+" => Op::Add,
        "-" => Op::Sub,
        "*" => Op::Mul,
        "/" => Op::Div,
        "%" => Op::Mod,
        "^" => Op::Pow,
        "==" => Op::Eq,
        "!=" => Op::Ne,
        ">" => Op::Gt,
        "<" => Op::Lt,
        ">=" => Op::Ge,
        "<=" => Op::Le,
        "and" => Op::And,
        "or" => Op::Or,
        "unless" => Op::Unless,
        _ => return Err(unsupported(&format!("the operator \"{name}\""))),
    };
    let mut matching = LabelSet::AllBut(vec![]);
    let mut return_bool = false;
    if let Some(m) = &b.modifier {
        match &m.card {
            VectorMatchCardinality::ManyToOne(_) => {
                return Err(unsupported("group_left (many-to-one matching)"));
            }
            VectorMatchCardinality::OneToMany(_) => {
                return Err(unsupported("group_right (one-to-many matching)"));
            }
            _ => {}
        }
        if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
            return Err(unsupported("a fill modifier"));
        }
        matching = match &m.matching {
            None => LabelSet::AllBut(vec![]),
            Some(LabelModifier::Include(l)) => LabelSet::Only(l.labels.clone()),
            Some(LabelModifier::Exclude(l)) => LabelSet::AllBut(l.labels.clone()),
        };
        return_bool = m.return_bool;
    }
    Ok(Expr::Binary {
        op,
        lhs: Box::new(build(&b.lhs)?),
        rhs: Box::new(build(&b.rhs)?),
        matching,
        return_bool,
    })
}

fn function(call: &parser::Call) -> Result<Expr, String> {
    let name = call.func.name;
    let args = &call.args.args;
    match name {
        "rate" | "increase" => {
            let Some(Ast::MatrixSelector(ms)) = args.first().map(|a| a.as_ref()) else {
                return Err(format!("{name}() needs a range vector such as metric[5m]"));
            };
            Ok(Expr::Rate {
                matchers: selector(&ms.vs)?,
                range: duration(ms.range),
                per_second: name == "rate",
            })
        }
        "histogram_quantile" if args.len() == 2 => Ok(Expr::Quantile {
            q: Box::new(build(&args[0])?),
            buckets: Box::new(build(&args[1])?),
        }),
        _ => Err(unsupported(&format!("the function \"{name}\""))),
    }
}

fn selector(vs: &parser::VectorSelector) -> Result<Vec<Matcher>, String> {
    if vs.offset.is_some() {
        return Err(unsupported("the offset modifier"));
    }
    if vs.at.is_some() {
        return Err(unsupported("the @ modifier"));
    }
    if !vs.matchers.or_matchers.is_empty() {
        return Err(unsupported("\"or\" inside a selector's braces"));
    }
    let mut matchers = vs.matchers.matchers.clone();
    if let Some(name) = &vs.name
        && !matchers.iter().any(|m| m.name == "__name__")
    {
        matchers.push(Matcher::new(MatchOp::Equal, "__name__", name));
    }
    Ok(matchers)
}

fn duration(d: std::time::Duration) -> SimTime {
    SimTime(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_functions_and_operators_are_named() {
        let e = compile("irate(http_requests_total[5m]) > 1").unwrap_err();
        assert!(
            e.starts_with("the function \"irate\" is not supported"),
            "{e}"
        );
        let e = compile("topk(3, http_requests_total)").unwrap_err();
        assert!(e.starts_with("the aggregation \"topk\""), "{e}");
        let e = compile("http_requests_total offset 5m").unwrap_err();
        assert!(e.starts_with("the offset modifier"), "{e}");
        let e = compile("a / on (version) group_left b").unwrap_err();
        assert!(e.starts_with("group_left"), "{e}");
        let e = compile("a atan2 b").unwrap_err();
        assert!(e.contains("\"atan2\""), "{e}");
        assert!(
            compile("rate(x[5m]")
                .unwrap_err()
                .starts_with("invalid PromQL")
        );
    }

    #[test]
    fn compiles_the_subset_and_knows_what_it_reads() {
        let e = compile(
            "histogram_quantile(0.99, sum by (le, version) (rate(http_request_duration_seconds_bucket[5m]))) > 0.5",
        )
        .unwrap();
        assert!(e.reads("http_request_duration_seconds_bucket"));
        assert!(!e.reads("http_requests_total"));
        assert_eq!(e.reach(), SimTime::from_secs(300));
        let e = compile("-sum without (code) (increase(http_requests_total{code=~\"5..\"}[10m])) or vector_x unless y and z").unwrap();
        assert!(e.reads("http_requests_total"));
        assert_eq!(e.reach(), SimTime::from_secs(600));
    }
}
