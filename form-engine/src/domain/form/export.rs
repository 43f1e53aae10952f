//! ExportQuestionnaireResponse as an operation: a sent form as a FHIR QuestionnaireResponse,
//! for a care system of the form's care unit, audited as GetForm is.

use common::permissions::Role;
use uuid::Uuid;

use super::service::{FormError, FormService};
use crate::domain::access::{Access, Trail};
use crate::domain::fhir::{self, QuestionnaireResponse};

impl FormService {
    pub async fn questionnaire_response_as(
        &self,
        id: Uuid,
        access: &Access,
    ) -> Result<QuestionnaireResponse, FormError> {
        let mut trail = Trail::default();
        let result = self.questionnaire_response_in(id, access, &mut trail).await;
        access.settle(id, trail, result).await
    }

    async fn questionnaire_response_in(
        &self,
        id: Uuid,
        access: &Access,
        trail: &mut Trail,
    ) -> Result<QuestionnaireResponse, FormError> {
        const ROLES: &[Role] = &[Role::CareSystem];
        access.require_some(ROLES).await?;
        let form = self.load(id).await?;
        access.admit(&form, None, ROLES, trail).await?;
        let compiled = self.templates.compiled_for_form(&form.template).await?;
        // As evaluated when the form was sent, as GetForm shows them.
        let outcomes = form.outcomes(&compiled);
        Ok(fhir::questionnaire_response(
            &form,
            compiled.template(),
            &outcomes,
        )?)
    }
}
