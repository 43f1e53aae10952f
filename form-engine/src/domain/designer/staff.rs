//! Who uses the designer: a staff member of one or more care units, with a role.

use common::identity::HsaId;
use serde::{Deserialize, Serialize};

/// What a staff member may do with a care unit's templates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Creates and edits drafts and submits them for review.
    Designer,
    /// Also publishes, archives and deletes.
    Publisher,
}

impl StaffRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Designer => "designer",
            Self::Publisher => "publisher",
        }
    }
}

/// A signed-in staff member: their HSA-id, name, care units and role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaffMember {
    pub hsa_id: HsaId,
    pub name: String,
    pub care_units: Vec<HsaId>,
    pub role: StaffRole,
}

impl StaffMember {
    /// Whether the member works for `care_unit` (and so may see its templates).
    pub fn works_for(&self, care_unit: &HsaId) -> bool {
        self.care_units.contains(care_unit)
    }

    pub fn may_publish(&self) -> bool {
        self.role == StaffRole::Publisher
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_works_for_their_units_and_only_publishers_publish() {
        let unit = HsaId::parse("SE0000000001-CU01").unwrap();
        let other = HsaId::parse("SE0000000001-CU02").unwrap();
        let mut member = StaffMember {
            hsa_id: HsaId::parse("SE0000000001-ST01").unwrap(),
            name: "Doris Designer".into(),
            care_units: vec![unit.clone()],
            role: StaffRole::Designer,
        };
        assert!(member.works_for(&unit));
        assert!(!member.works_for(&other));
        assert!(!member.may_publish());
        member.role = StaffRole::Publisher;
        assert!(member.may_publish());
    }
}
