//! Activities that bring residents together: planned by a builder or coach in the street
//! document (every partner sees them), with the wishes they answer, the residents invited
//! (from those who offered to contribute), how many took part and a short evaluation.
//! Which households took part is kept only in each household's own document
//! ([`Participation`]), and shown by name only where the resident consented.

use std::collections::BTreeMap;

use automerge::AutoCommit;
use uuid::Uuid;

use crate::{
    docs::{self, EditError, Signature, new_id},
    ids::AddressId,
    model::{
        Activity, Address, Household, Invitation, IsoDate, MAX_SHORT_CHARS, Participation,
        SchemaViolation, Theme, is_time_of_day,
    },
    record::{Door, RecordError},
    sync::client::Replica,
    walk::house_number_key,
};

/// What a person fills in to plan an activity, or to change its plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub title: String,
    pub date: IsoDate,
    /// `HH:MM`, or empty.
    pub time: String,
    pub place: String,
    pub theme: Theme,
    /// The wishes it answers, by id.
    pub wishes: Vec<String>,
}

/// What is recorded after the activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Afterwards {
    pub participants: Option<u32>,
    pub evaluation: String,
}

/// A resident who offered to contribute: someone to call on for an activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Contributor {
    pub address: AddressId,
    pub number: String,
    /// The resident's name, only with their consent.
    pub name: String,
    pub contact: String,
    /// What they offered, in their words, and its theme (the latest conversation's).
    pub contribution: String,
    pub theme: Option<Theme>,
}

fn check(what: &str, text: &str) -> Result<(), SchemaViolation> {
    if text.chars().count() > MAX_SHORT_CHARS {
        return Err(SchemaViolation(format!(
            "{what} is longer than {MAX_SHORT_CHARS} characters"
        )));
    }
    Ok(())
}

fn street_doc(replica: &mut Replica, street: Uuid) -> Result<&mut AutoCommit, RecordError> {
    let kind = replica.street_kind(street);
    let doc = &mut replica
        .get_mut(&kind.id())
        .ok_or(RecordError::UnknownStreet(street))?
        .doc;
    kind.upgrade(doc).map_err(EditError::from)?;
    Ok(doc)
}

fn known(doc: &AutoCommit, id: &str) -> Result<Activity, RecordError> {
    docs::get_entry(doc, docs::ACTIVITIES, id)?.ok_or_else(|| {
        EditError::MissingEntry {
            collection: docs::ACTIVITIES.name,
            key: id.to_string(),
        }
        .into()
    })
}

/// Plans an activity in `street`; returns its id.
pub fn plan(
    replica: &mut Replica,
    signature: Signature<'_>,
    street: Uuid,
    plan: &Plan,
) -> Result<String, RecordError> {
    let id = new_id();
    let activity = Activity {
        title: String::new(),
        date: plan.date,
        time: String::new(),
        place: String::new(),
        theme: plan.theme,
        wishes: BTreeMap::new(),
        invited: BTreeMap::new(),
        participants: None,
        evaluation: String::new(),
        by: signature.by.to_string(),
        at_ms: signature.at_ms,
    };
    write(replica, signature, street, &id, activity, plan)?;
    Ok(id)
}

/// Changes the plan of activity `id`.
pub fn replan(
    replica: &mut Replica,
    signature: Signature<'_>,
    street: Uuid,
    id: &str,
    plan: &Plan,
) -> Result<(), RecordError> {
    let activity = known(street_doc(replica, street)?, id)?;
    write(replica, signature, street, id, activity, plan)
}

fn write(
    replica: &mut Replica,
    signature: Signature<'_>,
    street: Uuid,
    id: &str,
    mut activity: Activity,
    plan: &Plan,
) -> Result<(), RecordError> {
    check("the title", &plan.title)?;
    check("the place", &plan.place)?;
    if plan.title.trim().is_empty() {
        return Err(SchemaViolation("an activity needs a title".into()).into());
    }
    activity.title = plan.title.trim().to_string();
    activity.date = plan.date;
    activity.time = plan.time.clone();
    activity.place = plan.place.trim().to_string();
    activity.theme = plan.theme;
    activity.wishes = plan.wishes.iter().map(|w| (w.clone(), true)).collect();
    if !is_time_of_day(&plan.time) {
        return Err(SchemaViolation(format!("{:?} is not a time as HH:MM", plan.time)).into());
    }
    let doc = street_doc(replica, street)?;
    docs::put_entry(doc, docs::ACTIVITIES, id, &activity)?;
    signature.commit(doc);
    Ok(())
}

/// Records how many took part and the evaluation of activity `id`.
pub fn record_afterwards(
    replica: &mut Replica,
    signature: Signature<'_>,
    street: Uuid,
    id: &str,
    afterwards: &Afterwards,
) -> Result<(), RecordError> {
    check("the evaluation", &afterwards.evaluation)?;
    let doc = street_doc(replica, street)?;
    let mut activity = known(doc, id)?;
    activity.participants = afterwards.participants;
    activity.evaluation = afterwards.evaluation.clone();
    docs::put_entry(doc, docs::ACTIVITIES, id, &activity)?;
    signature.commit(doc);
    Ok(())
}

/// Invites (or un-invites) the resident at `address` to activity `id`.
pub fn invite(
    replica: &mut Replica,
    signature: Signature<'_>,
    street: Uuid,
    id: &str,
    address: AddressId,
    invited: bool,
) -> Result<(), RecordError> {
    let doc = street_doc(replica, street)?;
    known(doc, id)?;
    if docs::get_entry::<Address>(doc, docs::ADDRESSES, &address.to_string())?.is_none() {
        return Err(RecordError::UnknownAddress(address.0));
    }
    let activities = docs::map_at(doc, &automerge::ROOT, docs::ACTIVITIES.name)
        .ok_or(EditError::MissingCollection(docs::ACTIVITIES.name))?;
    let activity = docs::map_at(doc, &activities, id).ok_or_else(|| EditError::MissingEntry {
        collection: docs::ACTIVITIES.name,
        key: id.to_string(),
    })?;
    let list = docs::map_at(doc, &activity, "invited").ok_or_else(|| EditError::MissingEntry {
        collection: "invited",
        key: id.to_string(),
    })?;
    let key = address.to_string();
    if invited {
        let invitation = Invitation {
            by: signature.by.to_string(),
            at_ms: signature.at_ms,
        };
        autosurgeon::reconcile_prop(doc, &list, key.as_str(), &invitation)
            .map_err(EditError::from)?;
    } else {
        use automerge::transaction::Transactable;
        doc.delete(&list, key.as_str()).map_err(EditError::from)?;
    }
    signature.commit(doc);
    Ok(())
}

/// Records in the household's own document at `door` whether it took part in activity
/// `activity`.
pub fn took_part(
    replica: &mut Replica,
    signature: Signature<'_>,
    door: &Door,
    activity: &str,
    took_part: bool,
) -> Result<(), RecordError> {
    let kind = door.household();
    let household = replica.open(kind);
    kind.upgrade(household).map_err(EditError::from)?;
    if took_part {
        let participation = Participation {
            by: signature.by.to_string(),
            at_ms: signature.at_ms,
        };
        docs::put_entry(household, docs::PARTICIPATION, activity, &participation)?;
    } else {
        let list = docs::map_at(household, &automerge::ROOT, docs::PARTICIPATION.name)
            .ok_or(EditError::MissingCollection(docs::PARTICIPATION.name))?;
        use automerge::transaction::Transactable;
        household.delete(&list, activity).map_err(EditError::from)?;
    }
    signature.commit(household);
    Ok(())
}

/// Whether the household of `household` (a household document) took part in `activity`.
pub fn took_part_in(household: &AutoCommit, activity: &str) -> bool {
    docs::amended(household, docs::PARTICIPATION)
        .map(|all| all.contains_key(activity))
        .unwrap_or(false)
}

/// The street's activities, soonest first.
pub fn activities(street: &AutoCommit) -> Result<Vec<(String, Activity)>, EditError> {
    let mut all: Vec<(String, Activity)> = docs::amended(street, docs::ACTIVITIES)?
        .into_iter()
        .collect();
    all.sort_by(|(a_id, a), (b_id, b)| (a.date, &a.time, a_id).cmp(&(b.date, &b.time, b_id)));
    Ok(all)
}

/// Residents who offered to contribute, from the household documents at hand (each with
/// its address): those whose contribution is about `theme` first, then the others, in
/// walking order of their door numbers.
pub fn contributors<'a>(
    street: &AutoCommit,
    households: impl IntoIterator<Item = (Uuid, &'a AutoCommit)>,
    theme: Option<Theme>,
) -> Result<Vec<Contributor>, EditError> {
    let mut found = Vec::new();
    for (address, doc) in households {
        let Some(entry) =
            docs::get_entry::<Address>(street, docs::ADDRESSES, &address.to_string())?
        else {
            continue;
        };
        let Ok(household) = docs::read::<Household>(doc) else {
            continue;
        };
        // The latest conversation with a contribution (visit ids sort by time).
        let Some(conversation) = household
            .conversations
            .values()
            .rev()
            .find(|c| !c.contribution.trim().is_empty())
        else {
            continue;
        };
        let answers = docs::consent_answers(doc).unwrap_or_default();
        let resident = household.resident_shown(&answers);
        found.push(Contributor {
            address: AddressId(address),
            number: entry.number,
            name: resident.name,
            contact: resident.contact,
            contribution: conversation.contribution.clone(),
            theme: conversation.contribution_theme,
        });
    }
    found.sort_by_key(|c| {
        (
            theme.is_none() || c.theme != theme,
            house_number_key(&c.number),
        )
    });
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        demo,
        docs::new_actor,
        model::{Consent, Outcome, Resident, Street},
        record::VisitRecord,
        sync::client::ReplicaDoc,
    };

    fn sign(at_ms: i64) -> Signature<'static> {
        Signature { by: "Sanne", at_ms }
    }

    /// The demo street, and two doors where residents offered to help: the first with
    /// consent to keep their name, the second without.
    fn street_with_helpers() -> (Replica, Vec<Door>) {
        let (kind, doc) = demo::street(new_actor()).unwrap();
        let street: Street = docs::read(&doc).unwrap();
        let mut replica = Replica::new(new_actor());
        replica.insert(ReplicaDoc::restore(kind, doc, Vec::new()));
        let mut doors = Vec::new();
        for (i, (address, offer)) in street
            .addresses
            .keys()
            .zip(["Schenkt koffie", "Sjouwt tafels"])
            .enumerate()
        {
            let address: Uuid = address.parse().unwrap();
            let visit = VisitRecord {
                street: demo::street_id(),
                address,
                author: "Sanne".into(),
                at_ms: 1,
                outcome: Outcome::Talked,
                return_on: None,
                notes: String::new(),
                contribution: offer.into(),
                wishes: Vec::new(),
                signals: Vec::new(),
            }
            .record(&mut replica)
            .unwrap();
            let door = Door::find(&replica, demo::street_id(), address).unwrap();
            let theme = (i == 1).then_some(Theme::MeetingEachOther);
            door.set_contribution_theme(&mut replica, visit, theme)
                .unwrap();
            if i == 0 {
                let resident = Resident {
                    name: "Fatima".into(),
                    contact: "06-12345678".into(),
                };
                door.set_consent(&mut replica, sign(2), Consent::Given, &resident)
                    .unwrap();
            }
            doors.push(door);
        }
        (replica, doors)
    }

    fn households(replica: &Replica, doors: &[Door]) -> Vec<(Uuid, AutoCommit)> {
        doors
            .iter()
            .map(|d| {
                (
                    d.address,
                    replica.get(&d.household().id()).unwrap().doc.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn an_activity_is_planned_with_its_helpers_and_who_took_part_stays_in_the_household() {
        let (mut replica, doors) = street_with_helpers();
        let street_id = demo::street_id();
        let plan = Plan {
            title: "Koffie op de galerij".into(),
            date: "2026-12-12".parse().unwrap(),
            time: "14:30".into(),
            place: "Galerij".into(),
            theme: Theme::MeetingEachOther,
            wishes: Vec::new(),
        };
        let id = super::plan(&mut replica, sign(3), street_id, &plan).unwrap();
        let street_kind = replica.street_kind(street_id);
        let street = replica.get(&street_kind.id()).unwrap().doc.clone();
        // Those on the activity's theme first; a name only with consent.
        let held = households(&replica, &doors);
        let helpers = contributors(
            &street,
            held.iter().map(|(a, d)| (*a, d)),
            Some(Theme::MeetingEachOther),
        )
        .unwrap();
        assert_eq!(helpers.len(), 2);
        assert_eq!(helpers[0].contribution, "Sjouwt tafels");
        assert_eq!(helpers[0].name, "", "no consent, no name");
        assert_eq!(
            (helpers[1].name.as_str(), helpers[1].contact.as_str()),
            ("Fatima", "06-12345678")
        );
        for door in &doors {
            invite(
                &mut replica,
                sign(4),
                street_id,
                &id,
                AddressId(door.address),
                true,
            )
            .unwrap();
        }
        took_part(&mut replica, sign(5), &doors[0], &id, true).unwrap();
        record_afterwards(
            &mut replica,
            sign(6),
            street_id,
            &id,
            &Afterwards {
                participants: Some(14),
                evaluation: "Gezellig, volgende keer buiten".into(),
            },
        )
        .unwrap();
        let street = &replica.get(&street_kind.id()).unwrap().doc;
        street_kind.validate(street).unwrap();
        let [(_, planned)] = activities(street).unwrap().try_into().unwrap();
        assert_eq!(planned.invited.len(), 2);
        assert_eq!(planned.participants, Some(14));
        assert_eq!(planned.by, "Sanne");
        // The street says how many; only the household's own document says it took part.
        let saved = street.clone().save();
        assert!(!String::from_utf8_lossy(&saved).contains("Fatima"));
        let household = &replica.get(&doors[0].household().id()).unwrap().doc;
        doors[0].household().validate(household).unwrap();
        assert!(took_part_in(household, &id));
        let other = &replica.get(&doors[1].household().id()).unwrap().doc;
        assert!(!took_part_in(other, &id));
    }

    #[test]
    fn a_plan_without_a_title_or_with_a_wrong_time_is_refused() {
        let (mut replica, _) = street_with_helpers();
        let mut plan = Plan {
            title: " ".into(),
            date: "2026-12-12".parse().unwrap(),
            time: String::new(),
            place: String::new(),
            theme: Theme::Play,
            wishes: Vec::new(),
        };
        assert!(super::plan(&mut replica, sign(1), demo::street_id(), &plan).is_err());
        plan.title = "Spelmiddag".into();
        plan.time = "25:00".into();
        assert!(super::plan(&mut replica, sign(1), demo::street_id(), &plan).is_err());
        plan.time = "09:05".into();
        super::plan(&mut replica, sign(1), demo::street_id(), &plan).unwrap();
    }
}
