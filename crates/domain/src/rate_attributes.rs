//! The attributes Shippo marks rates with: `CHEAPEST`, `FASTEST` and `BESTVALUE`, computed over
//! all rates of one shipment (amounts in one currency).
//!
//! - CHEAPEST: the lowest amount (every rate sharing it).
//! - FASTEST: the fewest transit days; among those, the cheapest (every rate sharing both).
//! - BESTVALUE: the lowest amount × days, i.e. the least paid per day of transit saved compared
//!   with nothing; ties go to the cheaper rate. Rates without a transit time take part in
//!   CHEAPEST only.

use rust_decimal::Decimal;

/// A rate attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Attribute {
    Cheapest,
    Fastest,
    BestValue,
}

impl Attribute {
    /// Shippo's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cheapest => "CHEAPEST",
            Self::Fastest => "FASTEST",
            Self::BestValue => "BESTVALUE",
        }
    }
}

/// For each `(amount, days)`, its attributes, in the same order.
pub fn attributes(rates: &[(Decimal, Option<u32>)]) -> Vec<Vec<Attribute>> {
    let mut out = vec![Vec::new(); rates.len()];
    let Some(cheapest) = rates.iter().map(|r| r.0).min() else {
        return out;
    };
    let fastest = rates.iter().filter_map(|(a, d)| d.map(|d| (d, *a))).min();
    let best = rates
        .iter()
        .filter_map(|(a, d)| d.map(|d| (*a * Decimal::from(d.max(1)), *a)))
        .min();
    for (i, (amount, days)) in rates.iter().enumerate() {
        if *amount == cheapest {
            out[i].push(Attribute::Cheapest);
        }
        if let (Some(d), Some((fd, fa))) = (days, fastest) {
            if *d == fd && *amount == fa {
                out[i].push(Attribute::Fastest);
            }
        }
        if let (Some(d), Some((score, ba))) = (days, best) {
            if *amount * Decimal::from((*d).max(1)) == score && *amount == ba {
                out[i].push(Attribute::BestValue);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Attribute::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn marks_the_cheapest_the_fastest_and_the_best_value() {
        // 5.00 × 5 = 25, 8.00 × 2 = 16, 25.00 × 1 = 25 → best value is 8.00 in 2 days.
        let got = attributes(&[
            (d("5.00"), Some(5)),
            (d("8.00"), Some(2)),
            (d("25.00"), Some(1)),
        ]);
        assert_eq!(got, vec![vec![Cheapest], vec![BestValue], vec![Fastest]]);
    }

    #[test]
    fn one_rate_can_be_everything_and_ties_share() {
        assert_eq!(
            attributes(&[(d("7"), Some(1))]),
            vec![vec![Cheapest, Fastest, BestValue]]
        );
        let got = attributes(&[(d("7"), Some(3)), (d("7"), Some(3)), (d("9"), None)]);
        assert_eq!(
            got,
            vec![
                vec![Cheapest, Fastest, BestValue],
                vec![Cheapest, Fastest, BestValue],
                vec![]
            ]
        );
    }

    #[test]
    fn the_fastest_tie_goes_to_the_cheaper_rate_and_unknown_days_only_compete_on_price() {
        let got = attributes(&[(d("30"), Some(1)), (d("20"), Some(1)), (d("4"), None)]);
        assert_eq!(got, vec![vec![], vec![Fastest, BestValue], vec![Cheapest]]);
        assert!(attributes(&[]).is_empty());
    }
}
