//! Whole latency samples in windows mode, for judges that compare them (Kayenta's
//! Mann–Whitney on latency, the sequential test on mean log latency).
//!
//! Those judges read a window's HDR histogram through 2 % log-spaced bins
//! ([`crate::detect::judges::Bins::latency`]): a recorded value `x` (whole µs, at least 1) lands
//! in bin `⌊ln(highest_equivalent(x)) / ln 1.02⌋`. Both maps are non-decreasing in `x`, so each
//! bin is an interval of latencies `[edge_j, edge_{j+1})`, a union of whole HDR buckets:
//! [`edges`] lists them once. A request's latency `model.at(z) + delay` lies below `edge`
//! exactly when the survival of `z` is above `S(z_above(edge − delay))`, and within a `z` zone
//! the survival is uniform, so a zone's count splits over the bins by conditional binomials:
//! the same multinomial law as the request mode's per-request recording, bin by bin. Recording
//! each bin's count at its lowest value then gives the judges exactly the request mode's bins.

use std::sync::OnceLock;

use super::{Cells, binomial, inverse_survival, survival};
use crate::engine::Rng;
use crate::model::{LatencyModel, Window};

/// The ratio between consecutive latency bins of the judges (2 %).
pub const LATENCY_BIN_RATIO: f64 = 1.02;

/// The lowest recorded value (µs) of every judge bin that some HDR bucket of a [`Window`]'s
/// histogram maps to, increasing, from 1 to the histogram's highest trackable value.
pub fn edges() -> &'static [u64] {
    static EDGES: OnceLock<Vec<u64>> = OnceLock::new();
    EDGES.get_or_init(|| {
        let h = Window::new(true);
        let ln = LATENCY_BIN_RATIO.ln();
        let mut out = Vec::new();
        let mut last_bin = f64::NAN;
        let mut x = 1u64;
        while let Some(high) = h.highest_equivalent(x) {
            let bin = ((high as f64).ln() / ln).floor();
            if bin != last_bin {
                out.push(x);
                last_bin = bin;
            }
            x = high + 1;
        }
        out
    })
}

/// Draws how the `zone_counts` requests of one version over a piece (cells `cs`, fault-free
/// latency `model`) fall into the judge bins and records each bin's count in `window` at its
/// lowest value.
pub(super) fn record(
    rng: &mut Rng,
    window: &mut Window,
    model: &LatencyModel,
    cs: &Cells,
    zone_counts: [u64; 3],
) {
    let edges = edges();
    // The survival of z at which a request's latency reaches `edge`: 1 below the delay.
    let cut = |edge: u64| {
        let b = edge as f64 - cs.delay_us;
        if b <= 0.0 {
            1.0
        } else {
            survival(model.z_above(b))
        }
    };
    for (k, &count) in zone_counts.iter().enumerate() {
        let (lo, hi) = (cs.s[k + 1], cs.s[k]);
        if count == 0 || hi <= lo {
            continue;
        }
        // The bins this zone's latencies can reach: from the one holding its fastest
        // latency (survival `hi`) upwards.
        let fastest = model.at(inverse_survival(hi)) + cs.delay_us;
        // One bin lower than computed, in case rounding put `fastest` above its bin's edge:
        // a bin the zone does not reach gets width 0.
        let mut j = edges
            .partition_point(|&e| (e as f64) <= fastest)
            .saturating_sub(2);
        let mut left = count;
        let mut width_left = hi - lo;
        let mut upper = hi;
        while left > 0 {
            let lower = edges.get(j + 1).map_or(0.0, |&e| cut(e)).clamp(lo, upper);
            let width = upper - lower;
            let c = if j + 1 >= edges.len() || lower <= lo {
                left
            } else if width_left > 0.0 {
                binomial(rng, left, (width / width_left).min(1.0))
            } else {
                0
            };
            if c > 0 {
                window.record_latency_n(edges[j] as f64, c);
            }
            left -= c;
            width_left -= width;
            upper = lower;
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RngStreams;

    #[test]
    fn every_edge_starts_a_new_judge_bin() {
        // Each edge's value lands in a bin of its own, above the previous edge's, and the value
        // just below an edge in the previous one: recording at the edges reproduces the
        // judges' binning (`Bins::latency`: ⌊ln(highest equivalent) / ln 1.02⌋).
        let e = edges();
        assert_eq!(e[0], 1);
        let w = Window::new(true);
        let bin = |x: u64| {
            let high = w.highest_equivalent(x).unwrap();
            ((high as f64).ln() / LATENCY_BIN_RATIO.ln()).floor()
        };
        for pair in e.windows(2).take(1_000) {
            assert!(bin(pair[1]) > bin(pair[0]));
            assert_eq!(bin(pair[1] - 1), bin(pair[0]));
        }
        // Around 10 ms, HDR buckets are 8 µs wide and bins 2 %: about 200 µs apart.
        let i = e.partition_point(|&x| x < 10_000);
        let gap = e[i + 1] - e[i];
        assert!((180..=220).contains(&gap), "{gap}");
    }

    #[test]
    fn bin_counts_follow_the_log_normal() {
        // One zone holding every request (survival (0, 1]) of a log-normal with median 50 ms,
        // σ = 0.7: the share recorded below 50 ms must be ½ within 4 sd (the bin holding 50 ms
        // straddles it by at most 2 %, ±0.011 of probability).
        let model = LatencyModel {
            mu: 50_000f64.ln(),
            sigma: 0.7,
        };
        let cs = Cells {
            s: [1.0, 0.0, 0.0, 0.0],
            ..Cells::default()
        };
        let mut rng = RngStreams::new(9, 0).named("t");
        let mut w = Window::new(true);
        let n = 100_000u64;
        record(&mut rng, &mut w, &model, &cs, [n, 0, 0]);
        let counts: Vec<(u64, u64)> = w.latency_counts().collect();
        assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), n);
        let below: u64 = counts.iter().filter(|c| c.0 < 50_000).map(|c| c.1).sum();
        let share = below as f64 / n as f64;
        assert!(
            (share - 0.5).abs() < 0.011 + 4.0 * (0.25 / n as f64).sqrt(),
            "{share}"
        );
    }
}
