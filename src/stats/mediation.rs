//! Mediation figures for the dashboard: the requests for a linguistic-cultural mediator
//! made in the period, by language; how many were fulfilled (a mediator joined the call
//! or will call back); and how long the first of those took from the request.
//!
//! A request is placed in a territory through its intake (the territory answered, else
//! its call's landline prefix), as the cases are.

use super::calls::Spread;

/// Requests and fulfilled requests of one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageRow {
    /// Language code, as requested.
    pub language: String,
    /// Requests.
    pub requests: i64,
    /// Requests a mediator joined or called back.
    pub fulfilled: i64,
}

/// Every mediation figure of one scope.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MediationFigures {
    /// Requests made in the period.
    pub requests: i64,
    /// Of which fulfilled.
    pub fulfilled: i64,
    /// By language, most requested first (ties by code).
    pub by_language: Vec<LanguageRow>,
    /// Request to the first joined or called-back event, for fulfilled requests.
    pub time_to_mediator: Spread,
}

impl MediationFigures {
    /// Fulfilled requests as a share of all, from 0 to 1; none without requests.
    pub fn share_fulfilled(&self) -> Option<f64> {
        (self.requests > 0).then(|| self.fulfilled as f64 / self.requests as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_fulfilled_is_undefined_without_requests() {
        assert_eq!(MediationFigures::default().share_fulfilled(), None);
        let f = MediationFigures {
            requests: 4,
            fulfilled: 3,
            ..Default::default()
        };
        assert_eq!(f.share_fulfilled(), Some(0.75));
    }
}
