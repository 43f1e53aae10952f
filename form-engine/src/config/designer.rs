//! `[designer]`: the form designer served at `/designer/` (docs/designer.md) and its sign-in
//! stand-in for SITHS: the configured test staff.

use common::auth::AuthMode;
use common::config::ConfigError;
use common::identity::HsaId;
use serde::{Deserialize, Serialize};

use crate::domain::designer::staff::{StaffMember, StaffRole};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesignerConfig {
    /// Whether `/designer/` is served at all.
    pub enabled: bool,
    /// The sign-in stand-in in an enforced auth mode (`mtls`, `jwt`). Off by default: there,
    /// staff are to come from the deployment's identity provider (docs/security.md), and a
    /// stand-in that lets anyone choose who they are must be switched on knowingly (a test
    /// environment).
    pub stand_in_when_enforced: bool,
    /// A session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// Cookies only over HTTPS (`Secure`); on when the engine serves TLS.
    pub secure_cookies: bool,
    /// `[[designer.staff]]`: the test staff the stand-in offers.
    pub staff: Vec<StaffConfig>,
}

/// One test staff member.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffConfig {
    /// The staff member's HSA-id (as on a SITHS card).
    pub hsa_id: HsaId,
    pub name: String,
    /// The care units whose templates the member works on.
    pub care_units: Vec<HsaId>,
    /// `designer` or `publisher`.
    pub role: StaffRole,
}

impl Default for DesignerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            stand_in_when_enforced: false,
            session_idle_minutes: 30,
            secure_cookies: false,
            staff: Vec::new(),
        }
    }
}

impl DesignerConfig {
    /// Every member has a name and a care unit, and no HSA-id is given twice.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, member) in self.staff.iter().enumerate() {
            if member.name.trim().is_empty() {
                return Err(ConfigError(format!(
                    "key `designer.staff[{i}].name`: empty"
                )));
            }
            if member.care_units.is_empty() {
                return Err(ConfigError(format!(
                    "key `designer.staff[{i}].care_units`: give at least one care unit"
                )));
            }
            if !seen.insert(member.hsa_id.as_str()) {
                return Err(ConfigError(format!(
                    "key `designer.staff[{i}].hsa_id`: {} is given twice",
                    member.hsa_id
                )));
            }
        }
        Ok(())
    }

    /// Whether the stand-in sign-in is offered under `mode`.
    pub fn stand_in_allowed(&self, mode: AuthMode) -> bool {
        mode == AuthMode::Open || self.stand_in_when_enforced
    }

    /// The configured staff as the domain's members.
    pub fn members(&self) -> Vec<StaffMember> {
        self.staff
            .iter()
            .map(|s| StaffMember {
                hsa_id: s.hsa_id.clone(),
                name: s.name.clone(),
                care_units: s.care_units.clone(),
                role: s.role,
            })
            .collect()
    }
}
