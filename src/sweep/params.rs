//! What a sweep's output folder was computed from, recorded in its `params.txt`: a rerun
//! resumes the folder only with the same parameters, and `merge` combines only shards of one
//! sweep.
//!
//! The file is one `key = value` per line, in a fixed order, so that it reads well and two
//! folders can be compared field by field.

use crate::scenario::overrides::Axis;
use std::fmt::Write;

/// The file name of the parameters in a sweep's output folder.
pub const FILE: &str = "params.txt";

/// The parameters that fix a sweep's rows: the same parameters give byte-identical rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepParams {
    /// The version of rehearsal that computed the rows.
    pub program: String,
    /// FNV-1a 64 of the scenario file's bytes, 16 hex digits ([`content_hash`]).
    pub scenario: String,
    /// The axes and their values, as `path=v1,v2` joined by `; ` (TOML values).
    pub grid: String,
    /// Grid points of the full grid.
    pub grid_points: usize,
    /// The master seed used (the file's or `--seed`).
    pub seed: u64,
    /// Replications per family (the file's or `-n`); the first batch under `--precision`.
    pub replications: u32,
    /// `--precision` and its cap as `1%,5s max 2000`, or `none`: each grid point's
    /// replication count follows from it.
    pub precision: String,
    /// How the runs produced their requests: `requests`, `windows`, or `windows where
    /// supported` when some grid points fell back to requests mode.
    pub mode: String,
    /// `(I, N)` for `--shard I/N`.
    pub shard: Option<(usize, usize)>,
}

/// The fields, in file order.
const KEYS: [&str; 9] = [
    "program",
    "scenario",
    "grid",
    "grid_points",
    "seed",
    "replications",
    "precision",
    "mode",
    "shard",
];

impl SweepParams {
    /// The grid line of `axes`.
    pub fn grid_of(axes: &[Axis]) -> String {
        axes.iter()
            .map(|a| {
                let values: Vec<String> = a.values.iter().map(ToString::to_string).collect();
                format!("{}={}", a.path, values.join(","))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Whether grid point `index` belongs to this sweep's shard (every point without one).
    pub fn owns(&self, index: usize) -> bool {
        self.shard.is_none_or(|(i, n)| index % n == i - 1)
    }

    fn values(&self) -> [String; 9] {
        [
            self.program.clone(),
            self.scenario.clone(),
            self.grid.clone(),
            self.grid_points.to_string(),
            self.seed.to_string(),
            self.replications.to_string(),
            self.precision.clone(),
            self.mode.clone(),
            self.shard
                .map_or_else(|| "none".to_string(), |(i, n)| format!("{i}/{n}")),
        ]
    }

    /// The text of `params.txt`.
    pub fn to_text(&self) -> String {
        let mut t = String::from(
            "# rehearsal sweep parameters: a rerun resumes this folder only with the same values\n",
        );
        for (k, v) in KEYS.iter().zip(self.values()) {
            let _ = writeln!(t, "{k} = {v}");
        }
        t
    }

    /// Reads `params.txt` text; the error says which line or key is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut got: Vec<(String, String)> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once(" = ")
                .ok_or_else(|| format!("line {}: expected `key = value`", n + 1))?;
            got.push((k.to_string(), v.to_string()));
        }
        // A folder written before `mode` was recorded ran in requests mode.
        if !got.iter().any(|(k, _)| k == "mode")
            && let Some(at) = got.iter().position(|(k, _)| k == "shard")
        {
            got.insert(at, ("mode".into(), "requests".into()));
        }
        // A folder written before `precision` was recorded ran without it.
        if !got.iter().any(|(k, _)| k == "precision")
            && let Some(at) = got.iter().position(|(k, _)| k == "mode")
        {
            got.insert(at, ("precision".into(), "none".into()));
        }
        let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        if keys != KEYS {
            return Err(format!(
                "expected the keys {} in this order; found {}",
                KEYS.join(", "),
                keys.join(", ")
            ));
        }
        let v = |i: usize| got[i].1.as_str();
        let num = |i: usize| {
            v(i).parse::<u64>()
                .map_err(|_| format!("{}: not a whole number: \"{}\"", KEYS[i], v(i)))
        };
        let shard = match v(8) {
            "none" => None,
            s => Some(
                s.split_once('/')
                    .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)))
                    .filter(|&(i, n)| n >= 1 && (1..=n).contains(&i))
                    .ok_or_else(|| format!("shard: expected I/N or none, found \"{s}\""))?,
            ),
        };
        Ok(SweepParams {
            program: v(0).to_string(),
            scenario: v(1).to_string(),
            grid: v(2).to_string(),
            grid_points: usize::try_from(num(3)?).map_err(|e| e.to_string())?,
            seed: num(4)?,
            replications: u32::try_from(num(5)?)
                .map_err(|_| format!("replications: too large: {}", v(5)))?,
            precision: v(6).to_string(),
            mode: v(7).to_string(),
            shard,
        })
    }

    /// The fields that differ from `other`, as `key: mine ≠ other's`; with `shard` only when
    /// `with_shard`.
    pub fn differences(&self, other: &Self, with_shard: bool) -> Vec<String> {
        KEYS.iter()
            .zip(self.values().into_iter().zip(other.values()))
            .filter(|(k, _)| with_shard || **k != "shard")
            .filter(|(_, (a, b))| a != b)
            .map(|(k, (a, b))| format!("{k}: {a} ≠ {b}"))
            .collect()
    }
}

/// FNV-1a 64 of `bytes` as 16 hex digits: stable across builds and platforms (std's hasher is
/// not), and enough to tell two scenario files apart.
pub fn content_hash(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> SweepParams {
        SweepParams {
            program: "0.1.0".into(),
            scenario: content_hash(b"name = \"x\""),
            grid: "analysis.threshold=1,2; analysis.interval=\"10s\"".into(),
            grid_points: 2,
            seed: 3,
            replications: 40,
            precision: "1%,5s max 500".into(),
            mode: "windows".into(),
            shard: Some((2, 3)),
        }
    }

    #[test]
    fn the_text_reads_back_and_differences_name_the_fields() {
        let p = params();
        assert_eq!(SweepParams::parse(&p.to_text()), Ok(p.clone()));
        let mut q = p.clone();
        q.seed = 4;
        q.shard = Some((1, 3));
        assert_eq!(p.differences(&q, false), ["seed: 3 ≠ 4"]);
        assert_eq!(p.differences(&q, true), ["seed: 3 ≠ 4", "shard: 2/3 ≠ 1/3"]);
        assert!(SweepParams::parse("seed = 3\n").is_err());
        // Written before `precision` was recorded: it ran without.
        let old = p.to_text().replace("precision = 1%,5s max 500\n", "");
        let read = SweepParams::parse(&old).unwrap();
        assert_eq!(read.precision, "none");
        let older = old.replace("mode = windows\n", "");
        assert_eq!(SweepParams::parse(&older).unwrap().precision, "none");
        // Written before `mode` was recorded: it ran in requests mode.
        let old = p.to_text().replace("mode = windows\n", "");
        assert_eq!(SweepParams::parse(&old).unwrap().mode, "requests");
    }

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        assert_eq!(content_hash(b""), "cbf29ce484222325");
        assert_eq!(content_hash(b"a"), "af63dc4c8601ec8c");
        assert_eq!(content_hash(b"foobar"), "85944171f73967e8");
    }

    #[test]
    fn a_shard_owns_its_round_robin_points() {
        let p = params();
        let owned: Vec<usize> = (0..7).filter(|&i| p.owns(i)).collect();
        assert_eq!(owned, [1, 4]);
    }
}
