//! The console's two languages: Italian first, English second. The language is the
//! `lang` cookie (set by the switch in the page header), Italian when absent.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;

/// Cookie holding the chosen language.
pub const LANG_COOKIE: &str = "helpline_lang";

/// A language of the console.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// Italiano (default).
    #[default]
    It,
    /// English.
    En,
}

impl Lang {
    /// ISO 639-1 code, for `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }

    /// Parses a code; anything else is Italian.
    pub fn from_code(code: &str) -> Self {
        if code == "en" {
            Lang::En
        } else {
            Lang::It
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Self {
        match self {
            Lang::It => Lang::En,
            Lang::En => Lang::It,
        }
    }

    /// Picks the Italian or the English text.
    pub fn pick<'a>(self, it: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::It => it,
            Lang::En => en,
        }
    }

    /// The console's text for `key`; the key itself when missing (a test checks that
    /// every key the templates use exists).
    pub fn t(self, key: &str) -> &'static str {
        match TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)) {
            Ok(i) => {
                let (_, it, en) = TEXTS[i];
                self.pick(it, en)
            }
            Err(_) => {
                tracing::warn!(key, "missing console text");
                "?"
            }
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        Ok(jar
            .get(LANG_COOKIE)
            .map(|c| Lang::from_code(c.value()))
            .unwrap_or_default())
    }
}

/// Every console text: key, Italian, English; sorted by key (binary search).
pub static TEXTS: &[(&str, &str, &str)] = &[
    ("account.change_password", "Cambia password", "Change password"),
    ("account.current", "Password attuale", "Current password"),
    ("account.must_change", "Prima di continuare scegli una nuova password personale.", "Choose a new personal password before going on."),
    ("account.new", "Nuova password (almeno 12 caratteri)", "New password (at least 12 characters)"),
    ("account.repeat", "Ripeti la nuova password", "Repeat the new password"),
    ("account.saved", "Password cambiata.", "Password changed."),
    ("admin.active", "Attivo", "Active"),
    ("admin.add", "Aggiungi utente", "Add user"),
    ("admin.created", "Utente creato. Password provvisoria (mostrata una sola volta):", "User created. Temporary password (shown once only):"),
    ("admin.reset", "Nuova password provvisoria", "New temporary password"),
    ("admin.save", "Salva", "Save"),
    ("admin.unit", "Unità (referenti)", "Unit (contacts)"),
    ("admin.users", "Utenti", "Users"),
    ("audit.action", "Azione", "Action"),
    ("audit.actor", "Chi", "Who"),
    ("audit.address", "Da indirizzo", "From address"),
    ("audit.at", "Quando", "When"),
    ("audit.detail", "Dettagli", "Details"),
    ("audit.object", "Oggetto", "Object"),
    ("audit.older", "Più vecchie", "Older"),
    ("audit.title", "Registro delle attività", "Audit log"),
    ("board.active", "In corso", "Active"),
    ("board.callbacks", "Chiamate perse da richiamare", "Missed calls to call back"),
    ("board.callbacks_empty", "Nessuna chiamata persa da richiamare.", "No missed calls to call back."),
    ("board.empty", "Nessuna chiamata in attesa o in corso.", "No calls waiting or in progress."),
    ("board.incoming", "Chiamata in arrivo", "Incoming call"),
    ("board.language", "Lingua", "Language"),
    ("board.live_off", "Aggiornamento automatico non attivo: ricarica la pagina.", "Live updates are off: reload the page."),
    ("board.my_status", "Il mio stato", "My status"),
    ("board.operators", "Operatori", "Operators"),
    ("board.red_alert", "Segnalazioni senza conferma: chiamare l'unità o il coordinamento", "Referrals not acknowledged: call the unit or the coordinator"),
    ("board.refresh", "Aggiorna", "Refresh"),
    ("board.repeat", "Chiamate precedenti", "Earlier calls"),
    ("board.state", "Stato", "State"),
    ("board.territory", "Territorio", "Territory"),
    ("board.title", "Chiamate in corso", "Live calls"),
    ("board.waiting", "Attesa", "Waiting"),
    ("board.your_call", "La tua chiamata: apri la scheda", "Your call: open the intake"),
    ("call.close", "Chiudi la chiamata", "Close the call"),
    ("call.closed", "Chiamata chiusa", "Call closed"),
    ("call.outcome", "Esito", "Outcome"),
    ("callback.title", "Richiamata", "Callback"),
    ("cases.accept", "Accetto la segnalazione", "I accept the referral"),
    ("cases.case", "Segnalazione", "Referral"),
    ("cases.decline", "Rifiuto (scrivi il motivo)", "I decline (write why)"),
    ("cases.exploitation", "Sfruttamento", "Exploitation"),
    ("cases.message", "Messaggio del numero verde", "Message from the help-line"),
    ("cases.none", "Nessuna segnalazione per la tua unità.", "No referrals for your unit."),
    ("cases.note", "Nota (senza dati che identificano la persona)", "Note (no identifying data)"),
    ("cases.outcome", "Esito", "Outcome"),
    ("cases.reach_back", "Come ricontattare", "How to reach back"),
    ("cases.reach_back_how", "Tramite il numero verde 800 186 086, citando il numero della segnalazione.", "Through the help-line 800 186 086, quoting the referral number."),
    ("cases.title", "Segnalazioni", "Referrals"),
    ("cases.unit", "Unità", "Unit"),
    ("cases.why", "Perché a questa unità", "Why this unit"),
    ("common.back", "Indietro", "Back"),
    ("common.done", "Fatto", "Done"),
    ("common.error", "Errore", "Error"),
    ("common.none", "—", "—"),
    ("common.role", "Ruolo", "Role"),
    ("common.save", "Salva", "Save"),
    ("common.username", "Nome utente", "User name"),
    ("dir.active", "Attiva", "Active"),
    ("dir.active_help", "Attiva: riceve segnalazioni ed è nei turni di reperibilità (togliere il segno per un'unità chiusa o sospesa)", "Active: receives referrals and is on the on-call rotas (untick for a unit closed or suspended)"),
    ("dir.back", "Torna all'elenco", "Back to the directory"),
    ("dir.backup", "di riserva", "backup"),
    ("dir.beds", "Posti liberi", "Free beds"),
    ("dir.beds_help", "Solo per le strutture di accoglienza; 0 = nessun posto, l'unità non viene proposta per un inserimento; vuoto se non si applica.", "Shelters only; 0 = full, the unit is not proposed for a placement; empty when it does not apply."),
    ("dir.change", "Modifica", "Change"),
    ("dir.code", "Codice", "Code"),
    ("dir.code_help", "Da 1 a 40 caratteri tra a-z, 0-9, '-' e '_'; non si può cambiare dopo.", "1 to 40 characters among a-z, 0-9, '-' and '_'; it cannot change later."),
    ("dir.contact", "Referente reperibile", "On-call contact"),
    ("dir.contact_new", "Aggiungi referente", "Add contact"),
    ("dir.contacts", "Referenti", "Contacts"),
    ("dir.coordinator", "Coordinamento regionale", "Regional coordinator"),
    ("dir.current", "Dati salvati ora", "Values saved now"),
    ("dir.email", "E-mail", "E-mail"),
    ("dir.history", "Versioni dell'elenco", "Directory versions"),
    ("dir.inactive", "Non attiva", "Inactive"),
    ("dir.intro", "Unità territoriali, referenti reperibili, mediatori e coordinamento a cui il servizio invia le segnalazioni. Ogni modifica crea una nuova versione ed è registrata.", "Territorial units, on-call contacts, mediators and the coordinator that referrals are sent to. Every change makes a new version and is audited."),
    ("dir.kind", "Tipo", "Kind"),
    ("dir.languages", "Lingue", "Languages"),
    ("dir.languages_help", "Codici ISO 639 separati da virgole, ad es. it, en, ro, pcm.", "ISO 639 codes separated by commas, e.g. it, en, ro, pcm."),
    ("dir.mediator", "Mediatore", "Mediator"),
    ("dir.mediator_new", "Aggiungi mediatore", "Add mediator"),
    ("dir.mediators", "Mediatori linguistico-culturali", "Linguistic-cultural mediators"),
    ("dir.mobile", "Cellulare", "Mobile"),
    ("dir.mobile_help", "In formato internazionale, ad es. +39 333 123 4567: riceve gli SMS.", "International format, e.g. +39 333 123 4567: receives the SMS."),
    ("dir.name", "Nome", "Name"),
    ("dir.no_contacts", "Nessun referente: le segnalazioni per questa unità vanno al coordinamento regionale.", "No contacts: referrals for this unit go to the regional coordinator."),
    ("dir.no_units", "Nessuna unità.", "No units."),
    ("dir.primary", "principale", "primary"),
    ("dir.remove", "Elimina", "Remove"),
    ("dir.remove_help", "Toglie la persona dall'elenco; i turni che la nominano restano e compaiono come voci non più valide.", "Removes the person from the directory; rota entries naming them stay and show as no longer valid."),
    ("dir.role", "Ruolo", "Role"),
    ("dir.rota", "Turni di reperibilità", "On-call rota"),
    ("dir.saved", "Salvato: versione", "Saved: version"),
    ("dir.services", "Servizi offerti", "Services offered"),
    ("dir.state", "Stato", "State"),
    ("dir.territory", "Territorio", "Territory"),
    ("dir.title", "Elenco della rete", "Network directory"),
    ("dir.unit", "Unità", "Unit"),
    ("dir.unit_new", "Aggiungi unità", "Add unit"),
    ("dir.units", "Unità territoriali", "Territorial units"),
    ("dir.version", "Versione", "Version"),
    ("dir.when", "Quando", "When"),
    ("dir.who", "Chi", "Who"),
    ("failures.attempts", "Tentativi", "Attempts"),
    ("failures.channel", "Canale", "Channel"),
    ("failures.error", "Ultimo errore", "Last error"),
    ("failures.given_up", "abbandonato: intervenire", "given up: act now"),
    ("failures.none", "Nessun invio fallito.", "No failed notifications."),
    ("failures.retrying", "in ripetizione", "retrying"),
    ("failures.title", "Invii non riusciti", "Failed notifications"),
    ("failures.to", "A", "To"),
    ("failures.undelivered", "SMS non consegnati (secondo l'operatore telefonico)", "SMS not delivered (as the provider reports)"),
    ("intake.answers", "Risposte", "Answers"),
    ("intake.complete", "Completa la scheda", "Complete the intake"),
    ("intake.computed", "Quella calcolata", "The computed one"),
    ("intake.edit", "Modifica le risposte", "Edit the answers"),
    ("intake.is_complete", "Scheda completata.", "Intake completed."),
    ("intake.new", "Nuova scheda", "New intake"),
    ("intake.no_answer", "Nessuna risposta", "No answer"),
    ("intake.not_saved", "Il passo non è stato salvato:", "The step was not saved:"),
    ("intake.open", "Apri scheda", "Open intake"),
    ("intake.overridden", "Priorità cambiata dall'operatore", "Priority changed by the operator"),
    ("intake.override", "Cambia la priorità", "Change the priority"),
    ("intake.override_reason", "Motivo (obbligatorio)", "Reason (required)"),
    ("intake.priority", "Priorità", "Priority"),
    ("intake.safety", "Sicurezza: cosa fare", "Safety: what to do"),
    ("intake.save_draft", "Salva bozza", "Save draft"),
    ("intake.save_next", "Salva e continua", "Save and continue"),
    ("intake.services", "Servizi necessari", "Services needed"),
    ("intake.source", "Da dove arriva la richiesta", "Where the request comes from"),
    ("intake.start", "Apri la scheda", "Open the intake"),
    ("intake.steps", "Passi della scheda", "Intake steps"),
    ("intake.subject", "Soggetto", "Subject"),
    ("intake.subject_code", "Codice soggetto", "Subject code"),
    ("intake.subject_link", "Collega a un codice esistente", "Link to an existing code"),
    ("intake.subject_link_go", "Collega", "Link"),
    ("intake.subject_new", "Nuovo codice soggetto", "New subject code"),
    ("intake.summary", "Riepilogo", "Summary"),
    ("intake.title", "Scheda", "Intake"),
    ("intake.triage", "Valutazione di urgenza", "Urgency assessment"),
    ("intake.wrap_up", "chiusura in", "wrap-up"),
    ("layout.skip", "Vai al contenuto", "Skip to content"),
    ("layout.switch", "English", "Italiano"),
    ("login.failed", "Nome utente o password non corretti.", "Wrong user name or password."),
    ("login.locked", "Troppi tentativi falliti: accesso bloccato per 15 minuti da questo indirizzo. L'evento è stato registrato.", "Too many failed attempts: sign-in is locked for 15 minutes from this address. This has been logged."),
    ("login.password", "Password", "Password"),
    ("login.submit", "Entra", "Sign in"),
    ("login.title", "Accesso", "Sign in"),
    ("mediation.ask", "Richiedi un mediatore", "Ask for a mediator"),
    ("mediation.board", "Mediazioni aperte", "Open mediations"),
    ("mediation.dial", "Chiama nella chiamata", "Call into the call"),
    ("mediation.drop", "Togli il mediatore dalla chiamata", "Drop the mediator from the call"),
    ("mediation.engaged", "impegnato/a in un'altra mediazione", "engaged in another mediation"),
    ("mediation.history", "Cronologia", "History"),
    ("mediation.live", "Nella chiamata in corso", "On the call in progress"),
    ("mediation.live_hint", "Il mediatore viene chiamato tramite il centralino: quando risponde, chiamante, operatore e mediatore si sentono tutti e tre.", "The mediator is called through the trunk: when they answer, caller, operator and mediator all hear one another."),
    ("mediation.mediator", "Mediatore", "Mediator"),
    ("mediation.mediators", "Mediatori per questa lingua", "Mediators for this language"),
    ("mediation.next", "Passo successivo", "Next step"),
    ("mediation.nobody", "Nessun mediatore per questa lingua: avvisa il supervisore.", "No mediator for this language: tell the supervisor."),
    ("mediation.none_open", "Nessuna richiesta aperta.", "No open requests."),
    ("mediation.off_call", "non reperibile ora", "not on call now"),
    ("mediation.on_call", "reperibile ora", "on call now"),
    ("mediation.on_call_first", "Il primo reperibile libero", "The first free mediator on call"),
    ("mediation.title", "Mediazione", "Mediation"),
    ("nav.admin", "Utenti", "Users"),
    ("nav.audit", "Registro", "Audit log"),
    ("nav.board", "Chiamate", "Calls"),
    ("nav.cases", "Segnalazioni", "Referrals"),
    ("nav.directory", "Elenco", "Directory"),
    ("nav.failures", "Invii falliti", "Failed sends"),
    ("nav.logout", "Esci", "Sign out"),
    ("nav.mediation", "Mediazioni", "Mediations"),
    ("nav.rotas", "Reperibilità", "On-call rotas"),
    ("nav.stats", "Statistiche", "Statistics"),
    ("product.name", "Numero Verde Anti-Tratta", "Anti-trafficking help-line"),
    ("referral.change", "Unità", "Unit"),
    ("referral.message", "Messaggio all'unità (senza dati che identificano la persona)", "Message to the unit (no identifying data)"),
    ("referral.none_needed", "Nessun servizio da attivare secondo la valutazione.", "No service to engage according to the assessment."),
    ("referral.proposal", "Proposta di invio", "Routing proposal"),
    ("referral.send", "Invia le segnalazioni", "Send the referrals"),
    ("referral.sent", "Segnalazioni inviate", "Referrals sent"),
    ("rota.add_override", "Aggiungi una variazione", "Add an override"),
    ("rota.add_shift", "Aggiungi un turno settimanale", "Add a weekly shift"),
    ("rota.all", "Tutti i turni di reperibilità", "All on-call rotas"),
    ("rota.coordinator", "Coordinamento regionale", "Regional coordinator"),
    ("rota.day", "Giorno", "Day"),
    ("rota.end", "Fine (ora di Roma)", "End (Rome time)"),
    ("rota.end_hint", "Una fine uguale o precedente all'inizio è il giorno dopo: 22:00–08:00 è una notte, 00:00–00:00 un giorno intero.", "An end at or before the start is on the next day: 22:00–08:00 is a night, 00:00–00:00 a whole day."),
    ("rota.from", "Dal (ora di Roma)", "From (Rome time)"),
    ("rota.gaps", "Scoperture nei prossimi 7 giorni: nessuno reperibile", "Coverage gaps in the next 7 days: nobody on call"),
    ("rota.gaps_count", "Scoperture (7 giorni)", "Gaps (7 days)"),
    ("rota.gaps_none", "Nessuna scopertura nei prossimi 7 giorni.", "No coverage gaps in the next 7 days."),
    ("rota.mediators", "Mediatori per lingua", "Mediators by language"),
    ("rota.mediators_of", "Mediatori", "Mediators"),
    ("rota.mode", "Modalità", "Mode"),
    ("rota.next_day", "(giorno dopo)", "(next day)"),
    ("rota.night_operators", "Operatori notturni del numero verde", "Help-line night operators"),
    ("rota.nobody", "Nessuno", "Nobody"),
    ("rota.on_call", "Reperibili ora", "On call now"),
    ("rota.other", "Altri turni (non più nell'elenco)", "Other rotas (no longer in the directory)"),
    ("rota.overrides", "Variazioni in corso e in programma", "Current and planned overrides"),
    ("rota.overrides_none", "Nessuna variazione in corso o in programma.", "No current or planned overrides."),
    ("rota.person", "Persona reperibile", "Person on call"),
    ("rota.remove", "Rimuovi", "Remove"),
    ("rota.shifts", "Turni settimanali", "Weekly shifts"),
    ("rota.shifts_none", "Nessun turno settimanale.", "No weekly shifts."),
    ("rota.stale", "Voci non più valide (persona uscita dall'elenco, spostata o disattivata)", "Entries no longer valid (person gone from the directory, moved or deactivated)"),
    ("rota.stale_count", "Voci non valide", "Invalid entries"),
    ("rota.stale_entry", "non più valida", "no longer valid"),
    ("rota.start", "Inizio (ora di Roma)", "Start (Rome time)"),
    ("rota.target", "Reperibilità per", "Rota"),
    ("rota.time", "Orario", "Time"),
    ("rota.title", "Turni di reperibilità", "On-call rotas"),
    ("rota.to", "Al (ora di Roma, escluso)", "To (Rome time, excluded)"),
    ("rota.units", "Unità territoriali", "Territorial units"),
    ("rota.warnings", "Avvisi", "Warnings"),
    ("rota.zone", "Tutti gli orari sono sull'ora di Roma (Europe/Rome), ora legale compresa.", "All times are on the Rome clock (Europe/Rome), summer time included."),
    ("stats.accepted", "Accettati", "Accepted"),
    ("stats.adults", "Maggiorenni", "Adults"),
    ("stats.age", "Età", "Age"),
    ("stats.age_unknown", "Età non nota", "Age not known"),
    ("stats.all_territories", "Tutti i territori", "All territories"),
    ("stats.by_callback", "Casi per modalità di ricontatto", "Cases by how contact resumes"),
    ("stats.by_caller_type", "Casi per chi chiama", "Cases by caller"),
    ("stats.by_closing", "Chiamate per esito registrato alla chiusura", "Calls by the outcome recorded at closing"),
    ("stats.by_exploitation", "Casi per tipo di sfruttamento", "Cases by type of exploitation"),
    ("stats.by_gender", "Casi per genere", "Cases by gender"),
    ("stats.by_language", "Richieste per lingua", "Requests by language"),
    ("stats.by_nationality", "Casi per nazionalità (le dieci più frequenti)", "Cases by nationality (the ten most frequent)"),
    ("stats.by_outcome", "Chiamate per esito", "Calls by outcome"),
    ("stats.by_reason", "Casi per motivo della chiamata", "Cases by reason for the call"),
    ("stats.by_territory", "Casi per territorio", "Cases by territory"),
    ("stats.by_unit", "Invii per unità", "Referrals by unit"),
    ("stats.callback", "Ricontatto", "Contact resumes"),
    ("stats.caller_type", "Chi chiama", "Caller"),
    ("stats.calls", "Chiamate", "Calls"),
    ("stats.case_outcome", "Casi", "Cases"),
    ("stats.case_outcomes", "Invio ai servizi", "Referral to services"),
    ("stats.cases", "Casi", "Cases"),
    ("stats.cases_note", "Schede completate aperte nel periodo; i casi sono quelle pertinenti. Una persona può subire più tipi di sfruttamento: la somma dei tipi può superare i casi. Il territorio è quello indicato nella scheda, altrimenti quello della rete fissa della chiamata.", "Intakes completed that were opened in the period; the cases are the pertinent ones. A person may suffer several types of exploitation: the types may add up to more than the cases. The territory is the one answered in the intake, else the landline's of the call."),
    ("stats.closing", "Esito", "Outcome"),
    ("stats.consent_refused", "Non inviati: la persona non acconsente", "Not referred: the person did not agree"),
    ("stats.coordinator", "Coordinamento regionale", "Regional coordinator"),
    ("stats.count", "Numero", "Number"),
    ("stats.day", "Giorno", "Day"),
    ("stats.days", "giorni", "days"),
    ("stats.declined", "Rifiutati", "Declined"),
    ("stats.escalated", "Sollecitati oltre il primo passo", "Escalated past the first step"),
    ("stats.exploitation", "Tipo di sfruttamento", "Type of exploitation"),
    ("stats.first_time", "Chiamate da chi chiama per la prima volta", "Calls from first-time callers"),
    ("stats.from", "Dal", "From"),
    ("stats.fulfilled", "Soddisfatte (mediatore in chiamata o che richiama)", "Fulfilled (a mediator joined or will call back)"),
    ("stats.gender", "Genere", "Gender"),
    ("stats.heat", "Chiamate per giorno della settimana e ora (ora di Roma)", "Calls by weekday and hour (Rome time)"),
    ("stats.intakes", "Schede completate", "Intakes completed"),
    ("stats.language", "Lingua", "Language"),
    ("stats.measured", "Chiamate misurate", "Calls measured"),
    ("stats.measured_count", "Misurati", "Measured"),
    ("stats.median", "Mediana", "Median"),
    ("stats.mediation", "Mediazione linguistico-culturale", "Linguistic-cultural mediation"),
    ("stats.minors", "Minorenni", "Minors"),
    ("stats.nationality", "Nazionalità", "Nationality"),
    ("stats.not_closed", "Non chiusa con un esito", "Not closed with an outcome"),
    ("stats.not_pertinent", "Non pertinenti", "Not pertinent"),
    ("stats.not_recorded", "Non registrato", "Not recorded"),
    ("stats.not_referred", "Non inviati, altro", "Not referred, other"),
    ("stats.others", "Altre", "Others"),
    ("stats.outcome", "Esito", "Outcome"),
    ("stats.outcome.abandoned", "Abbandonate prima della risposta", "Abandoned before an answer"),
    ("stats.outcome.answered", "Risposte e concluse", "Answered and ended"),
    ("stats.outcome.failed", "Interrotte da un guasto", "Cut by a failure"),
    ("stats.outcome.missed", "Senza risposta", "Missed"),
    ("stats.outcome.open", "Ancora aperte", "Still open"),
    ("stats.outcome.overflowed", "Passate al reperibile (senza esito registrato)", "Sent to the on-call mobile (no outcome recorded)"),
    ("stats.outcomes", "Esiti", "Outcomes"),
    ("stats.p90", "90° percentile", "90th percentile"),
    ("stats.pending", "Conteggio in corso: le cifre non includono ancora le ultime modifiche di alcuni giorni del periodo; ricarica la pagina tra qualche minuto. Giorni da contare:", "Counting in progress: the figures do not yet include the latest changes of some days of the period; reload the page in a few minutes. Days left to count:"),
    ("stats.pertinent", "Pertinenti (casi)", "Pertinent (cases)"),
    ("stats.prank_silent", "Scherzi o chiamate mute", "Pranks or silent calls"),
    ("stats.reason", "Motivo", "Reason"),
    ("stats.referrals", "Invii ai servizi del territorio", "Referrals to local services"),
    ("stats.referred", "Inviati a un'unità", "Referred to a unit"),
    ("stats.relevance_unrecorded", "Pertinenza non registrata", "Relevance not recorded"),
    ("stats.repeat", "Chiamate da chi aveva già chiamato", "Calls from repeat callers"),
    ("stats.requests", "Richieste", "Requests"),
    ("stats.sent", "Inviati", "Sent"),
    ("stats.share_fulfilled", "Quota soddisfatta", "Share fulfilled"),
    ("stats.show", "Mostra", "Show"),
    ("stats.talk", "Durata della conversazione", "Talk time"),
    ("stats.territory", "Territorio", "Territory"),
    ("stats.through_overflow", "Chiamate passate al reperibile", "Calls sent to the on-call mobile"),
    ("stats.time_to_answer", "Tempo alla risposta dell'unità (accettati o rifiutati)", "Time to the unit's answer (accepted or declined)"),
    ("stats.time_to_mediator", "Tempo per avere un mediatore", "Time to a mediator"),
    ("stats.times", "Tempi", "Times"),
    ("stats.title", "Statistiche", "Statistics"),
    ("stats.to", "Al (escluso)", "To (excluded)"),
    ("stats.total", "Chiamate ricevute", "Calls received"),
    ("stats.total_row", "Totale", "Total"),
    ("stats.unit", "Unità", "Unit"),
    ("stats.wait", "Attesa prima della risposta", "Wait before an answer"),
    ("stats.who_why", "Chi chiama e perché", "Who calls and why"),
    ("stats.who_why_note", "Casi (schede pertinenti completate) per chi ha chiamato e per il motivo della chiamata.", "Cases (pertinent intakes completed) by who called and the reason for the call."),
    ("stats.withheld", "Chiamate con numero nascosto", "Calls with a withheld number"),
    ("stats.zone_note", "Date e ore sull'ora di Roma (Europe/Rome). Con un territorio scelto si contano solo le chiamate da rete fissa di quel territorio.", "Dates and hours on the Rome clock (Europe/Rome). With a territory chosen only landline calls from that territory are counted."),
    ("status.available", "Disponibile", "Available"),
    ("status.away", "Assente", "Away"),
    ("status.busy", "Occupato", "Busy"),
    ("status.wrap_up", "Chiusura chiamata", "Wrap-up"),
    ("subject.merge", "Unisci un altro codice a questo", "Merge another code into this one"),
    ("subject.merge_from", "Codice da unire (sarà sostituito da questo)", "Code to merge (replaced by this one)"),
    ("subject.search", "Cerca codice soggetto", "Find subject code"),
    ("subject.since", "Creato il", "Created on"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_and_unique_so_lookup_finds_them() {
        for pair in TEXTS.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        assert_eq!(Lang::It.t("login.submit"), "Entra");
        assert_eq!(Lang::En.t("login.submit"), "Sign in");
    }

    #[test]
    fn every_key_used_by_a_template_exists() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let calls = text.match_indices("t(\"").filter(|(i, _)| {
                // `t(` itself, not the end of another name such as `format(`.
                !text[..*i].ends_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            for (i, _) in calls {
                let key = text[i + 3..].split('"').next().unwrap();
                assert!(
                    TEXTS.binary_search_by(|(k, _, _)| (*k).cmp(key)).is_ok(),
                    "{}: missing text `{key}`",
                    path.display()
                );
            }
        }
    }
}
