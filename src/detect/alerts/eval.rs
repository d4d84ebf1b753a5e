//! Evaluates a compiled expression at one instant, with Prometheus' semantics (the
//! functions cite the Prometheus source they follow).

use std::collections::BTreeMap;

use super::promql::{Aggregation, Expr, LabelSet, Op};
use super::series::{Labels, Semantics, SeriesStore};
use crate::engine::SimTime;

/// A value: a scalar or an instant vector (labels and value per series).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A number.
    Scalar(f64),
    /// Series with one value each.
    Vector(Vec<(Labels, f64)>),
}

/// Evaluates `e` at `at` over `store`. An error (duplicate series on one side of a one-to-one
/// match) fails the evaluation, as it fails a Prometheus rule evaluation.
pub fn eval(e: &Expr, store: &SeriesStore, at: SimTime) -> Result<Value, String> {
    Ok(match e {
        Expr::Number(x) => Value::Scalar(*x),
        Expr::Vector(ms) => Value::Vector(store.instant(ms, at)),
        Expr::Rate {
            matchers,
            range,
            per_second,
        } => Value::Vector(
            store
                .range(matchers, at, *range)
                .into_iter()
                .filter_map(|(labels, samples)| {
                    let x = extrapolated_rate(samples, at, *range, *per_second, store.semantics())?;
                    Some((labels.without_name(), x))
                })
                .collect(),
        ),
        Expr::Quantile { q, buckets } => {
            let q = scalar(eval(q, store, at)?)?;
            Value::Vector(histogram_quantile(q, vector(eval(buckets, store, at)?)?))
        }
        Expr::Aggregate {
            op,
            grouping,
            inner,
        } => Value::Vector(aggregate(*op, grouping, vector(eval(inner, store, at)?)?)),
        Expr::Neg(inner) => match eval(inner, store, at)? {
            Value::Scalar(x) => Value::Scalar(-x),
            Value::Vector(v) => {
                Value::Vector(v.into_iter().map(|(l, x)| (l.without_name(), -x)).collect())
            }
        },
        Expr::Binary {
            op,
            lhs,
            rhs,
            matching,
            return_bool,
        } => {
            let (l, r) = (eval(lhs, store, at)?, eval(rhs, store, at)?);
            binary(*op, l, r, matching, *return_bool)?
        }
    })
}

fn scalar(v: Value) -> Result<f64, String> {
    match v {
        Value::Scalar(x) => Ok(x),
        Value::Vector(_) => Err("expected a scalar".into()),
    }
}

fn vector(v: Value) -> Result<Vec<(Labels, f64)>, String> {
    match v {
        Value::Vector(x) => Ok(x),
        Value::Scalar(_) => Err("expected an instant vector".into()),
    }
}

/// `rate()` (`per_second`) or `increase()` of one counter's samples in `(at − range, at]`,
/// as Prometheus' `extrapolatedRate` (`promql/functions.go`) computes it: the increase
/// between the first and last samples (counter resets added back) is extrapolated towards
/// each end of the range, all the way when the gap is under 1.1 × the average sample
/// spacing, else by half a spacing, and never to before the counter would have been 0
/// (Prometheus 2 applies that last limit before the threshold test, 3 after it).
/// `None` with fewer than two samples.
pub fn extrapolated_rate(
    samples: &[(SimTime, f64)],
    at: SimTime,
    range: SimTime,
    per_second: bool,
    semantics: Semantics,
) -> Option<f64> {
    let (&(first_t, first), &(last_t, last)) = (samples.first()?, samples.last()?);
    if samples.len() < 2 {
        return None;
    }
    let mut result = last - first;
    for w in samples.windows(2) {
        if w[1].1 < w[0].1 {
            result += w[0].1;
        }
    }
    let secs = |t: SimTime| t.micros() as f64 / 1e6;
    let range_start = secs(at) - secs(range);
    let mut to_start = secs(first_t) - range_start;
    let mut to_end = secs(at) - secs(last_t);
    let sampled = secs(last_t) - secs(first_t);
    let average = sampled / (samples.len() - 1) as f64;
    let threshold = average * 1.1;
    // Counters cannot be negative: stop where the line through the samples reaches 0.
    let to_zero = (result > 0.0 && first >= 0.0).then(|| sampled * (first / result));
    if semantics == Semantics::V2
        && let Some(z) = to_zero
    {
        to_start = to_start.min(z);
    }
    if to_start >= threshold {
        to_start = average / 2.0;
    }
    if semantics == Semantics::V3
        && let Some(z) = to_zero
    {
        to_start = to_start.min(z);
    }
    if to_end >= threshold {
        to_end = average / 2.0;
    }
    let mut factor = if sampled != 0.0 {
        (sampled + to_start + to_end) / sampled
    } else {
        1.0
    };
    if per_second {
        factor /= secs(range);
    }
    Some(result * factor)
}

/// `histogram_quantile(q, buckets)`: per group of series alike but for `le` (metric name
/// dropped), the classic-histogram quantile of Prometheus' `BucketQuantile`
/// (`promql/quantile.go`).
fn histogram_quantile(q: f64, buckets: Vec<(Labels, f64)>) -> Vec<(Labels, f64)> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for (labels, count) in buckets {
        let le = labels.get("le");
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            match le.parse::<f64>() {
                Ok(b) => b,
                Err(_) => continue,
            }
        };
        let key = labels.filter(&["le".to_string(), "__name__".to_string()], false);
        groups.entry(key).or_default().push((bound, count));
    }
    groups
        .into_iter()
        .map(|(labels, b)| (labels, bucket_quantile(q, b)))
        .collect()
}

/// The `q`-quantile of cumulative `(upper bound, count)` buckets, interpolated linearly
/// inside the bucket the rank falls in (`BucketQuantile`, `promql/quantile.go`): NaN without
/// a `+Inf` bucket or observations; the highest finite bound when the rank falls in `+Inf`.
pub fn bucket_quantile(q: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if q.is_nan() {
        return f64::NAN;
    } else if q < 0.0 {
        return f64::NEG_INFINITY;
    } else if q > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if buckets.last().is_none_or(|b| b.0 != f64::INFINITY) {
        return f64::NAN;
    }
    // Coalesce equal bounds, then force the counts monotonic (`coalesceBuckets`,
    // `ensureMonotonicAndIgnoreSmallDeltas`).
    buckets.dedup_by(|b, a| {
        let same = a.0 == b.0;
        if same {
            a.1 += b.1;
        }
        same
    });
    let mut max = f64::NEG_INFINITY;
    for b in &mut buckets {
        max = max.max(b.1);
        b.1 = max;
    }
    let n = buckets.len();
    if n < 2 || buckets[n - 1].1 == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * buckets[n - 1].1;
    let b = buckets[..n - 1].partition_point(|x| x.1 < rank);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (end, mut count) = buckets[b];
    let mut start = 0.0;
    if b > 0 {
        start = buckets[b - 1].0;
        count -= buckets[b - 1].1;
        rank -= buckets[b - 1].1;
    }
    start + (end - start) * (rank / count)
}

fn aggregate(op: Aggregation, grouping: &LabelSet, v: Vec<(Labels, f64)>) -> Vec<(Labels, f64)> {
    let mut groups: BTreeMap<Labels, (f64, usize)> = BTreeMap::new();
    for (labels, x) in v {
        let key = match grouping {
            LabelSet::Only(names) => labels.filter(names, true),
            LabelSet::AllBut(names) => labels.filter(names, false).without_name(),
        };
        let (acc, n) = groups.entry(key).or_insert((f64::NAN, 0));
        *acc = match (op, *n) {
            (Aggregation::Count, _) => (*n + 1) as f64,
            (_, 0) => x,
            (Aggregation::Sum | Aggregation::Avg, _) => *acc + x,
            // NaN loses to any number, as in Prometheus' max/min.
            (Aggregation::Max, _) if x > *acc || acc.is_nan() => x,
            (Aggregation::Min, _) if x < *acc || acc.is_nan() => x,
            _ => *acc,
        };
        *n += 1;
    }
    groups
        .into_iter()
        .map(|(l, (acc, n))| match op {
            Aggregation::Avg => (l, acc / n as f64),
            _ => (l, acc),
        })
        .collect()
}

/// `l op r` on numbers; comparisons give 1 or 0.
fn apply(op: Op, l: f64, r: f64) -> f64 {
    let truth = |b: bool| if b { 1.0 } else { 0.0 };
    match op {
        Op::Add => l + r,
        Op::Sub => l - r,
        Op::Mul => l * r,
        Op::Div => l / r,
        Op::Mod => l % r,
        Op::Pow => l.powf(r),
        Op::Eq => truth(l == r),
        Op::Ne => truth(l != r),
        Op::Gt => truth(l > r),
        Op::Lt => truth(l < r),
        Op::Ge => truth(l >= r),
        Op::Le => truth(l <= r),
        Op::And | Op::Or | Op::Unless => unreachable!("set operators work on label sets"),
    }
}

/// The result of `op` on one pair: `None` when a comparison filters the element out.
/// `keep` is the value a filtering comparison keeps (the vector element's).
fn element(op: Op, l: f64, r: f64, keep: f64, return_bool: bool) -> Option<f64> {
    let x = apply(op, l, r);
    match (op.is_comparison(), return_bool) {
        (false, _) | (true, true) => Some(x),
        (true, false) => (x == 1.0).then_some(keep),
    }
}

fn binary(
    op: Op,
    l: Value,
    r: Value,
    matching: &LabelSet,
    return_bool: bool,
) -> Result<Value, String> {
    // Arithmetic and `bool` drop the metric name; filtering comparisons keep it.
    let drop_name = !op.is_comparison() || return_bool;
    let name = |l: Labels| if drop_name { l.without_name() } else { l };
    Ok(match (l, r) {
        (Value::Scalar(a), Value::Scalar(b)) => Value::Scalar(apply(op, a, b)),
        (Value::Vector(v), Value::Scalar(s)) => Value::Vector(
            v.into_iter()
                .filter_map(|(l, x)| Some((name(l), element(op, x, s, x, return_bool)?)))
                .collect(),
        ),
        (Value::Scalar(s), Value::Vector(v)) => Value::Vector(
            v.into_iter()
                .filter_map(|(l, x)| Some((name(l), element(op, s, x, x, return_bool)?)))
                .collect(),
        ),
        (Value::Vector(lv), Value::Vector(rv)) if op.is_set() => {
            Value::Vector(set_operation(op, lv, rv, matching))
        }
        (Value::Vector(lv), Value::Vector(rv)) => {
            Value::Vector(one_to_one(op, lv, rv, matching, return_bool)?)
        }
    })
}

/// The labels two series are matched on.
fn signature(labels: &Labels, matching: &LabelSet) -> Labels {
    match matching {
        LabelSet::Only(names) => labels.filter(names, true),
        LabelSet::AllBut(names) => labels.filter(names, false).without_name(),
    }
}

fn set_operation(
    op: Op,
    lv: Vec<(Labels, f64)>,
    rv: Vec<(Labels, f64)>,
    matching: &LabelSet,
) -> Vec<(Labels, f64)> {
    let right: Vec<Labels> = rv.iter().map(|(l, _)| signature(l, matching)).collect();
    match op {
        Op::And => lv
            .into_iter()
            .filter(|(l, _)| right.contains(&signature(l, matching)))
            .collect(),
        Op::Unless => lv
            .into_iter()
            .filter(|(l, _)| !right.contains(&signature(l, matching)))
            .collect(),
        _ => {
            let left: Vec<Labels> = lv.iter().map(|(l, _)| signature(l, matching)).collect();
            let mut out = lv;
            out.extend(
                rv.into_iter()
                    .filter(|(l, _)| !left.contains(&signature(l, matching))),
            );
            out
        }
    }
}

/// One-to-one matching: each left element with the right element of the same signature;
/// the result keeps the left labels (only the `on` labels, or without the `ignoring` ones).
fn one_to_one(
    op: Op,
    lv: Vec<(Labels, f64)>,
    rv: Vec<(Labels, f64)>,
    matching: &LabelSet,
    return_bool: bool,
) -> Result<Vec<(Labels, f64)>, String> {
    let mut right: BTreeMap<Labels, f64> = BTreeMap::new();
    for (l, x) in rv {
        if right.insert(signature(&l, matching), x).is_some() {
            return Err(format!(
                "found duplicate series for the match group {:?} on the right-hand side",
                signature(&l, matching).0
            ));
        }
    }
    let mut matched: Vec<Labels> = Vec::new();
    let mut out = Vec::new();
    for (l, x) in lv {
        let sig = signature(&l, matching);
        let Some(&y) = right.get(&sig) else { continue };
        if matched.contains(&sig) {
            return Err(format!(
                "multiple matches for labels {:?}: many-to-one matching must be explicit",
                sig.0
            ));
        }
        matched.push(sig);
        let Some(value) = element(op, x, y, x, return_bool) else {
            continue;
        };
        let mut labels = if !op.is_comparison() || return_bool {
            l.without_name()
        } else {
            l
        };
        labels = match matching {
            LabelSet::Only(names) => labels.filter(names, true),
            LabelSet::AllBut(names) => labels.filter(names, false),
        };
        out.push((labels, value));
    }
    Ok(out)
}
