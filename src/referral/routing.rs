//! Routing: from the triage (services needed), the territory and the language to the
//! units that should receive the referral, each with the reason in words. Units of the
//! territory first; for what they cannot cover (no unit offers it, or nobody is on call),
//! the neighbouring territories in the directory's order; what is still uncovered goes to
//! the regional coordinator. The operator sees the proposal and may change it.

use super::directory::{Directory, Unit};
use crate::triage::Text;

/// One unit proposed, or the regional coordinator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The unit's code; `None` for the regional coordinator.
    pub unit: Option<String>,
    /// The services it is proposed for (directory codes).
    pub services: Vec<String>,
    /// Why, for the operator and the record.
    pub reason: Text,
}

/// What routing reads.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    /// Services needed (the triage's), in order.
    pub services: &'a [String],
    /// The territory code, when known and in the directory.
    pub territory: Option<&'a str>,
    /// The language of the person concerned, preferring units that speak it.
    pub language: Option<&'a str>,
}

fn names(directory: &Directory, services: &[String]) -> (String, String) {
    let label = |code: &String, it: bool| {
        directory
            .services
            .iter()
            .find(|s| &s.code == code)
            .map(|s| if it { s.it.clone() } else { s.en.clone() })
            .unwrap_or_else(|| code.clone())
    };
    (
        services
            .iter()
            .map(|s| label(s, true))
            .collect::<Vec<_>>()
            .join(", "),
        services
            .iter()
            .map(|s| label(s, false))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// One service code in words, in the console's language (the code itself if unknown).
pub fn service_label(directory: &Directory, lang: crate::web::i18n::Lang, code: &str) -> String {
    directory
        .services
        .iter()
        .find(|s| s.code == code)
        .map(|s| lang.pick(&s.it, &s.en).to_string())
        .unwrap_or_else(|| code.to_string())
}

/// Service codes in words, in the console's language.
pub fn service_names(
    directory: &Directory,
    lang: crate::web::i18n::Lang,
    services: &[String],
) -> String {
    let (it, en) = names(directory, services);
    lang.pick(&it, &en).to_string()
}

/// The units [`propose`] may choose for this request: those of the territory and of its
/// neighbours that offer one of the services needed (the only ones whose rotas matter).
pub fn candidates<'d>(directory: &'d Directory, request: &Request<'_>) -> Vec<&'d Unit> {
    let Some(home) = request.territory.and_then(|t| directory.territory(t)) else {
        return Vec::new();
    };
    directory
        .units
        .iter()
        .filter(|u| u.territory == home.code || home.neighbours.contains(&u.territory))
        .filter(|u| request.services.iter().any(|s| u.offers(s)))
        .collect()
}

/// Proposes where to send a referral. `on_call(unit)` says whether somebody of the unit
/// is on call now (a unit without anyone is passed over, with the reason saying so).
pub fn propose(
    directory: &Directory,
    request: &Request<'_>,
    on_call: &dyn Fn(&Unit) -> bool,
) -> Vec<Proposal> {
    let mut uncovered: Vec<String> = request.services.to_vec();
    let mut proposals = Vec::new();
    if uncovered.is_empty() {
        return proposals;
    }
    let home = request.territory.and_then(|t| directory.territory(t));
    let Some(home) = home else {
        let (it, en) = names(directory, &uncovered);
        return vec![Proposal {
            unit: None,
            services: uncovered,
            reason: Text::new(
                format!("Territorio non indicato o fuori dalla Toscana: al coordinamento regionale per {it}"),
                format!("Territory not given or outside Tuscany: to the regional coordinator for {en}"),
            ),
        }];
    };
    let mut places: Vec<(&str, &str, bool)> = vec![(home.code.as_str(), home.name.as_str(), true)];
    for n in &home.neighbours {
        if let Some(t) = directory.territory(n) {
            places.push((t.code.as_str(), t.name.as_str(), false));
        }
    }
    let mut unstaffed: Vec<&str> = Vec::new();
    // Shelters of the home territory that would take the person but have no free bed.
    let full: Vec<&str> = directory
        .active_units()
        .filter(|u| u.territory == home.code && u.beds == Some(0))
        .filter(|u| u.services.iter().any(|s| uncovered.contains(s)))
        .map(|u| u.name.as_str())
        .collect();
    for (code, name, is_home) in places {
        while !uncovered.is_empty() {
            let units = directory.units.iter().filter(|u| u.territory == code);
            // The unit covering most of what is still needed; then one speaking the
            // language; then the directory's order.
            let best = units
                .filter(|u| uncovered.iter().any(|s| u.offers(s)))
                .filter(|u| {
                    let staffed = on_call(u);
                    if !staffed && !unstaffed.contains(&u.name.as_str()) {
                        unstaffed.push(&u.name);
                    }
                    staffed
                })
                .max_by_key(|u| {
                    let covers = uncovered.iter().filter(|s| u.offers(s)).count();
                    let speaks = request
                        .language
                        .is_some_and(|l| u.languages.iter().any(|x| x == l));
                    (covers, speaks, std::cmp::Reverse(u.code.clone()))
                });
            let Some(unit) = best else { break };
            let services: Vec<String> = uncovered
                .iter()
                .filter(|s| unit.offers(s))
                .cloned()
                .collect();
            uncovered.retain(|s| !services.contains(s));
            let (it, en) = names(directory, &services);
            let reason = if is_home {
                Text::new(
                    format!("Unità del territorio di {name} per: {it}"),
                    format!("Unit of the {name} territory for: {en}"),
                )
            } else {
                let home_name = &home.name;
                let (why_it, why_en) = if full.is_empty() {
                    (
                        "nessuna unità disponibile".to_string(),
                        "no unit available".to_string(),
                    )
                } else {
                    let full = full.join(", ");
                    (
                        format!("nessun posto libero ({full})"),
                        format!("no free bed ({full})"),
                    )
                };
                Text::new(
                    format!("A {home_name} {why_it} per: {it}; unità del territorio vicino di {name}"),
                    format!("In {home_name} {why_en} for: {en}; unit of the neighbouring {name} territory"),
                )
            };
            proposals.push(Proposal {
                unit: Some(unit.code.clone()),
                services,
                reason,
            });
        }
        if uncovered.is_empty() {
            break;
        }
    }
    if !uncovered.is_empty() {
        let (it, en) = names(directory, &uncovered);
        let nobody = if unstaffed.is_empty() {
            String::new()
        } else {
            format!(" ({})", unstaffed.join(", "))
        };
        proposals.push(Proposal {
            unit: None,
            services: uncovered,
            reason: Text::new(
                format!("Nessuna unità reperibile qui o nei territori vicini{nobody}: al coordinamento regionale per {it}"),
                format!("No unit on call here or in the neighbouring territories{nobody}: to the regional coordinator for {en}"),
            ),
        });
    }
    proposals
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> Directory {
        Directory::parse(super::super::directory::EMBEDDED_DIRECTORY, "test").unwrap()
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn only_units_of_the_territory_and_its_neighbours_offering_a_need_are_candidates() {
        let d = dir();
        let services = s(&["emergency_shelter"]);
        let request = Request {
            services: &services,
            territory: Some("AR"),
            language: None,
        };
        let units = candidates(&d, &request);
        assert!(!units.is_empty());
        assert!(units
            .iter()
            .all(|u| ["AR", "FI", "SI"].contains(&u.territory.as_str())));
        assert!(units
            .iter()
            .all(|u| u.services.contains(&"emergency_shelter".to_string())));
        assert!(units.iter().any(|u| u.territory == "AR"));
        // Whatever propose picks when all are staffed is among them.
        for p in propose(&d, &request, &|_| true) {
            assert!(units
                .iter()
                .any(|u| Some(u.code.as_str()) == p.unit.as_deref()));
        }
    }

    #[test]
    fn an_emergency_in_firenze_goes_to_the_firenze_emergency_shelter() {
        let d = dir();
        let services = s(&["emergency_shelter", "health"]);
        let p = propose(
            &d,
            &Request {
                services: &services,
                territory: Some("FI"),
                language: None,
            },
            &|_| true,
        );
        assert_eq!(p[0].unit.as_deref(), Some("fi-pronta"));
        assert!(p[0].reason.it.contains("Firenze"), "{:?}", p[0].reason);
        assert!(p.iter().all(|x| x.unit.is_some()));
        let covered: Vec<&String> = p.iter().flat_map(|x| &x.services).collect();
        assert_eq!(covered.len(), 2);
    }

    #[test]
    fn a_unit_with_nobody_on_call_is_passed_over_for_a_neighbour_with_the_reason() {
        let d = dir();
        let services = s(&["emergency_shelter"]);
        let p = propose(
            &d,
            &Request {
                services: &services,
                territory: Some("AR"),
                language: None,
            },
            &|u| u.territory != "AR",
        );
        assert_eq!(p.len(), 1);
        let unit = p[0].unit.as_deref().unwrap();
        let territory = &d.units.iter().find(|u| u.code == unit).unwrap().territory;
        assert_eq!(territory, "FI", "Firenze is Arezzo's first neighbour");
        assert!(
            p[0].reason.it.contains("territorio vicino"),
            "{:?}",
            p[0].reason
        );
    }

    #[test]
    fn nothing_on_call_anywhere_goes_to_the_regional_coordinator() {
        let d = dir();
        let services = s(&["emergency_shelter"]);
        let p = propose(
            &d,
            &Request {
                services: &services,
                territory: Some("GR"),
                language: None,
            },
            &|_| false,
        );
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].unit, None);
        assert!(p[0].reason.it.contains("coordinamento regionale"));
    }

    #[test]
    fn an_unknown_territory_goes_to_the_coordinator_and_no_need_means_no_proposal() {
        let d = dir();
        let services = s(&["legal"]);
        let p = propose(
            &d,
            &Request {
                services: &services,
                territory: Some("outside_tuscany"),
                language: None,
            },
            &|_| true,
        );
        assert_eq!(p[0].unit, None);
        assert!(propose(&d, &Request::default(), &|_| true).is_empty());
    }

    #[test]
    fn a_unit_speaking_the_language_is_preferred_between_equals() {
        let d = dir();
        let services = s(&["outreach"]);
        let with = |lang| {
            propose(
                &d,
                &Request {
                    services: &services,
                    territory: Some("FI"),
                    language: Some(lang),
                },
                &|_| true,
            )
        };
        let p = with("zh");
        let unit = d
            .units
            .iter()
            .find(|u| Some(u.code.as_str()) == p[0].unit.as_deref())
            .unwrap();
        let any_speaks = d.units.iter().any(|u| {
            u.territory == "FI"
                && u.services.contains(&"outreach".to_string())
                && u.languages.contains(&"zh".to_string())
        });
        assert!(!any_speaks || unit.languages.contains(&"zh".to_string()));
    }
}
