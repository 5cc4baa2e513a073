//! Computing one day's figures from the records: one statement per kind of record
//! (calls, intakes, mediation requests, referrals) returns the day's rows with what is
//! derived from their events, and they are counted here, by territory.
//!
//! A day on the Rome clock holds a few thousand calls at most, so the rows come back
//! whole; the territory of an intake is read from its answers here rather than with each
//! backend's JSON functions.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Timelike, Utc};

use super::day::{bump, DayFigures};
use crate::config::Backend;
use crate::db::{DbError, Tx};
use crate::stats::{Period, ZONE};
use crate::triage::questionnaire::UNKNOWN;
use crate::triage::{Answer, Answers};
use crate::with_tx;

/// Figures of one day by territory code (`""` not known).
pub type ByTerritory = BTreeMap<String, DayFigures>;

/// The mediation events that put a mediator within the caller's reach.
const FULFILLED: &str = "('joined', 'called_back')";

/// Milliseconds from `a` to `b` as an integer, per backend. SQLite's julianday is a
/// double with sub-millisecond error, hence the rounding.
fn millis(backend: Backend, a: &str, b: &str) -> String {
    match backend {
        Backend::Sqlite => {
            format!("cast(round((julianday({b}) - julianday({a})) * 86400000.0) as integer)")
        }
        Backend::Postgres => {
            format!("cast(round(extract(epoch from ({b} - {a})) * 1000) as bigint)")
        }
    }
}

/// `t` is at most `$3` days of 24 hours before `of` (whole hours on PostgreSQL too,
/// whose day arithmetic would follow the session's zone).
fn within_days_before(backend: Backend, t: &str, of: &str) -> String {
    match backend {
        Backend::Sqlite => format!("julianday({t}) >= julianday({of}) - $3"),
        Backend::Postgres => format!("{t} >= {of} - make_interval(hours => $3 * 24)"),
    }
}

/// Computes the figures of `day`, in the transaction that holds the day's lock.
pub async fn day(
    tx: &mut Tx,
    day: NaiveDate,
    repeat_window_days: u32,
) -> Result<ByTerritory, DbError> {
    let next = day
        .succ_opt()
        .ok_or_else(|| DbError::Config(format!("no day after {day}")))?;
    let (start, end) = Period {
        from: day,
        to: next,
    }
    .utc_bounds()
    .map_err(|e| DbError::Config(e.to_string()))?;
    let backend = match tx {
        Tx::Sqlite(_) => Backend::Sqlite,
        Tx::Postgres(_) => Backend::Postgres,
    };
    let mut out = ByTerritory::new();
    calls(tx, backend, (start, end), repeat_window_days, &mut out).await?;
    cases(tx, (start, end), &mut out).await?;
    mediation(tx, backend, (start, end), &mut out).await?;
    referrals(tx, backend, (start, end), &mut out).await?;
    Ok(out)
}

type Bounds = (DateTime<Utc>, DateTime<Utc>);

/// A call row: territory, state, arrival, overflowed, withheld, repeat, wait and talk
/// in milliseconds, the operator's closing outcome.
type CallRow = (
    Option<String>,
    String,
    DateTime<Utc>,
    bool,
    bool,
    bool,
    Option<i64>,
    Option<i64>,
    Option<String>,
);

async fn calls(
    tx: &mut Tx,
    backend: Backend,
    (start, end): Bounds,
    repeat_window_days: u32,
    out: &mut ByTerritory,
) -> Result<(), DbError> {
    let window = i32::try_from(repeat_window_days).unwrap_or(i32::MAX);
    // The first answer counts: a call put back in the queue and answered again waited
    // from its arrival to the first operator who took it.
    let sql = format!(
        "select c.territory_hint, c.state, c.opened_at, \
           exists (select 1 from call_events o where o.call_id = c.id and o.state = 'overflowed'), \
           c.caller_hash is null, \
           (c.caller_hash is not null and exists (select 1 from calls p \
             where p.caller_hash = c.caller_hash and p.opened_at < c.opened_at and {within})), \
           (select {wait} from call_events a where a.call_id = c.id and a.state = 'answered' \
             order by a.seq limit 1), \
           (select {talk} from call_events a join call_events e on e.call_id = a.call_id \
             and e.state = 'ended' where a.call_id = c.id and a.state = 'answered' \
             order by a.seq limit 1), \
           o.outcome \
         from calls c left join call_outcomes o on o.call_id = c.id \
         where c.opened_at >= $1 and c.opened_at < $2",
        within = within_days_before(backend, "p.opened_at", "c.opened_at"),
        wait = millis(backend, "c.opened_at", "a.at"),
        talk = millis(backend, "a.at", "e.at"),
    );
    let rows: Vec<CallRow> = with_tx!(tx, |conn| sqlx::query_as(&sql)
        .bind(start)
        .bind(end)
        .bind(window)
        .fetch_all(&mut *conn)
        .await?);
    for (territory, state, at, overflowed, withheld, repeat, wait, talk, closed) in rows {
        let c = &mut out.entry(territory.unwrap_or_default()).or_default().calls;
        c.total += 1;
        bump(&mut c.states, Some(&state), 1);
        c.overflowed += i64::from(overflowed);
        c.withheld += i64::from(withheld);
        c.repeat += i64::from(repeat);
        if c.hours.len() != 24 {
            c.hours = vec![0; 24];
        }
        if let Some(h) = c.hours.get_mut(at.with_timezone(&ZONE).hour() as usize) {
            *h += 1;
        }
        if let Some(ms) = wait {
            c.wait.record_millis(ms);
        }
        if let Some(ms) = talk {
            c.talk.record_millis(ms);
        }
        bump(&mut c.closed, closed.as_deref(), 1);
    }
    Ok(())
}

/// Reads an intake's answers; a row the service did not write is refused by name.
fn answers(id: i64, json: &str) -> Result<Answers, DbError> {
    serde_json::from_str(json).map_err(|e| DbError::Corrupt(format!("intake {id} answers: {e}")))
}

/// Where an intake is placed: the territory answered, else (not asked, or not known)
/// the landline prefix of its call, so that calls that were not pertinent still count
/// in a territory.
fn territory(answers: Option<&Answers>, hint: Option<String>) -> String {
    match answers.and_then(|a| a.choice("territory")) {
        Some(t) if t != UNKNOWN => t.to_string(),
        _ => hint.unwrap_or_default(),
    }
}

async fn cases(tx: &mut Tx, (start, end): Bounds, out: &mut ByTerritory) -> Result<(), DbError> {
    let rows: Vec<(i64, String, Option<String>, bool)> = with_tx!(tx, |conn| sqlx::query_as(
        "select i.id, i.answers, c.territory_hint, \
           exists (select 1 from referrals r where r.intake_id = i.id) \
         from intakes i left join calls c on c.id = i.call_id \
         where i.status = 'complete' and i.created_at >= $1 and i.created_at < $2"
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?);
    for (id, json, hint, referred) in rows {
        let a = answers(id, &json)?;
        let k = &mut out.entry(territory(Some(&a), hint)).or_default().cases;
        let relevance = a.choice("relevance");
        bump(&mut k.relevance, relevance, 1);
        if relevance != Some("pertinent") {
            continue;
        }
        if let Some(Answer::Choices(types)) = a.get("exploitation") {
            for t in types {
                bump(&mut k.exploitation, Some(t), 1);
            }
        }
        bump(&mut k.gender, a.choice("gender"), 1);
        bump(&mut k.age, Some(age_class(&a)), 1);
        bump(&mut k.nationality, a.choice("nationality"), 1);
        bump(&mut k.caller_type, a.choice("caller_type"), 1);
        bump(&mut k.reason, a.choice("reason"), 1);
        bump(&mut k.callback, a.choice("callback"), 1);
        let referral = if referred {
            "referred"
        } else if a.choice("consent_referral") == Some("no") {
            "refused"
        } else {
            "none"
        };
        bump(&mut k.referral, Some(referral), 1);
    }
    Ok(())
}

/// A minor answer or an age band under 18 makes a minor (in doubt, minor age is
/// presumed, as the intake's help says).
fn age_class(a: &Answers) -> &'static str {
    let (minor, band) = (a.choice("minor"), a.choice("age_band"));
    if minor == Some("yes") || matches!(band, Some("under_14" | "14_17")) {
        "minor"
    } else if minor == Some("no") || matches!(band, Some("18_24" | "25_34" | "35_44" | "45_plus")) {
        "adult"
    } else {
        "unknown"
    }
}

async fn mediation(
    tx: &mut Tx,
    backend: Backend,
    (start, end): Bounds,
    out: &mut ByTerritory,
) -> Result<(), DbError> {
    let sql = format!(
        "select m.id, m.language, i.answers, c.territory_hint, \
           (select min({to_mediator}) from mediation_events e \
             where e.request_id = m.id and e.state in {FULFILLED}), \
           exists (select 1 from mediation_events e where e.request_id = m.id \
             and e.state in {FULFILLED}) \
         from mediation_requests m left join intakes i on i.id = m.intake_id \
         left join calls c on c.id = coalesce(m.call_id, i.call_id) \
         where m.requested_at >= $1 and m.requested_at < $2",
        to_mediator = millis(backend, "m.requested_at", "e.at"),
    );
    type Row = (
        i64,
        String,
        Option<String>,
        Option<String>,
        Option<i64>,
        bool,
    );
    let rows: Vec<Row> = with_tx!(tx, |conn| sqlx::query_as(&sql)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?);
    for (id, language, json, hint, to_mediator, fulfilled) in rows {
        let a = json.map(|j| answers(id, &j)).transpose()?;
        let f = out.entry(territory(a.as_ref(), hint)).or_default();
        let row = f.mediation.entry(language).or_default();
        row[0] += 1;
        row[1] += i64::from(fulfilled);
        if let Some(ms) = to_mediator {
            f.to_mediator.record_millis(ms);
        }
    }
    Ok(())
}

async fn referrals(
    tx: &mut Tx,
    backend: Backend,
    (start, end): Bounds,
    out: &mut ByTerritory,
) -> Result<(), DbError> {
    // Accepted or declined, either answer stops the escalation; `acknowledged_at` is
    // when the unit answered.
    let sql = format!(
        "select i.id, r.unit_code, r.state, i.answers, c.territory_hint, \
           exists (select 1 from deliveries d where d.referral_id = r.id and d.minute > 0), \
           case when r.acknowledged_at is not null then {to_answer} end \
         from referrals r join intakes i on i.id = r.intake_id \
         left join calls c on c.id = i.call_id \
         where r.created_at >= $1 and r.created_at < $2",
        to_answer = millis(backend, "r.created_at", "r.acknowledged_at"),
    );
    type Row = (
        i64,
        String,
        String,
        String,
        Option<String>,
        bool,
        Option<i64>,
    );
    let rows: Vec<Row> = with_tx!(tx, |conn| sqlx::query_as(&sql)
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await?);
    for (intake, unit, state, json, hint, escalated, to_answer) in rows {
        let a = answers(intake, &json)?;
        let f = out.entry(territory(Some(&a), hint)).or_default();
        let row = f.referrals.entry(unit).or_default();
        row[0] += 1;
        row[1] += i64::from(matches!(state.as_str(), "acknowledged" | "closed"));
        row[2] += i64::from(state == "declined");
        row[3] += i64::from(escalated);
        if let Some(ms) = to_answer {
            f.to_answer.record_millis(ms);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Answers {
        let mut a = Answers::default();
        for (q, v) in pairs {
            a.set(*q, Answer::Choice((*v).to_string()));
        }
        a
    }

    #[test]
    fn an_unknown_territory_falls_back_to_the_calls_prefix() {
        let hint = || Some("PI".to_string());
        assert_eq!(territory(Some(&with(&[("territory", "FI")])), hint()), "FI");
        assert_eq!(
            territory(Some(&with(&[("territory", "unknown")])), hint()),
            "PI"
        );
        assert_eq!(territory(None, None), "");
    }

    #[test]
    fn in_doubt_a_minor_is_presumed() {
        assert_eq!(
            age_class(&with(&[("minor", "yes"), ("age_band", "25_34")])),
            "minor"
        );
        assert_eq!(age_class(&with(&[("age_band", "14_17")])), "minor");
        assert_eq!(age_class(&with(&[("minor", "no")])), "adult");
        assert_eq!(age_class(&with(&[("minor", "unknown")])), "unknown");
    }
}
