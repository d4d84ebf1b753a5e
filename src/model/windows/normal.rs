//! The standard normal distribution's survival function and its inverse, to double precision.
//!
//! Windows mode draws order statistics of latency in survival space (`S(z) = P(Z > z)`), where
//! the upper tail keeps full relative precision (`1 − Φ(z)` would cancel above z ≈ 8).

/// `P(Z > z)` for a standard normal `Z`, from `erfc` (musl's, via `libm`: relative error
/// below 1e-15 over the whole range).
#[inline]
pub fn survival(z: f64) -> f64 {
    if z == f64::INFINITY {
        return 0.0;
    }
    if z == f64::NEG_INFINITY {
        return 1.0;
    }
    0.5 * libm::erfc(z * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal density at `z`.
#[inline]
fn density(z: f64) -> f64 {
    (-0.5 * z * z).exp() * 0.398_942_280_401_432_7
}

/// The `z` with `P(Z > z) = s`, for `s` in `[0, 1]` (`+∞` at 0, `−∞` at 1).
///
/// A start from Abramowitz & Stegun 26.2.23 (|error| < 4.5e-4) refined by Newton steps on the
/// exact survival function until the step is below 1e-15 in relative terms (at most 8 steps;
/// three suffice in practice), so the inverse is as exact as [`survival`] itself.
pub fn inverse_survival(s: f64) -> f64 {
    if s <= 0.0 {
        return f64::INFINITY;
    }
    if s >= 1.0 {
        return f64::NEG_INFINITY;
    }
    // Work in the upper half and mirror: S(−z) = 1 − S(z).
    let (p, sign) = if s <= 0.5 { (s, 1.0) } else { (1.0 - s, -1.0) };
    let t = (-2.0 * p.ln()).sqrt();
    let mut z = t
        - (2.515_517 + 0.802_853 * t + 0.010_328 * t * t)
            / (1.0 + 1.432_788 * t + 0.189_269 * t * t + 0.001_308 * t * t * t);
    if p == 0.5 {
        z = 0.0;
    }
    // Newton on the side where p is small, in the relative form that keeps precision in the
    // far tail: f(z) = S(z) − p, f'(z) = −φ(z).
    for _ in 0..8 {
        let d = density(z);
        if d == 0.0 {
            break;
        }
        let step = (survival(z) - p) / d;
        z += step;
        if step.abs() <= 1e-15 * z.abs().max(1.0) {
            break;
        }
    }
    sign * z
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survival_matches_known_values() {
        assert!((survival(0.0) - 0.5).abs() < 1e-16);
        // Φ(2.326347874040841) = 0.99.
        assert!((survival(2.326_347_874_040_841) - 0.01).abs() < 1e-15);
        // P(Z > 8) = 6.22096057427178e-16.
        assert!((survival(8.0) / 6.220_960_574_271_78e-16 - 1.0).abs() < 1e-12);
        assert!((survival(-1.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
    }

    #[test]
    fn inverse_round_trips_over_the_range() {
        for &s in &[
            1e-300,
            1e-12,
            1e-6,
            0.001,
            0.01,
            0.3,
            0.5,
            0.7,
            0.99,
            1.0 - 1e-9,
        ] {
            let z = inverse_survival(s);
            assert!((survival(z) / s - 1.0).abs() < 1e-12, "s = {s}, z = {z}");
        }
        assert_eq!(inverse_survival(0.0), f64::INFINITY);
        assert_eq!(inverse_survival(1.0), f64::NEG_INFINITY);
    }
}
