//! What the engine fills in on save, before the checks: question ids and block question
//! counts the designer left out, and (after the checks pass) the page and question counts.

use super::graph::PageGraph;
use super::model::FormTemplate;

/// Fills in every questionId left out (`q<questionNumber>`, api.md §3.1) and every block's
/// numberOfQuestions left out.
pub fn fill_in(template: &mut FormTemplate) {
    for routed in &mut template.pages {
        for block in &mut routed.page.question_blocks {
            if block.number_of_questions.is_none() {
                block.number_of_questions = u32::try_from(block.questions.len()).ok();
            }
            for question in &mut block.questions {
                if question.question_id.is_none() {
                    question.question_id = Some(format!("q{}", question.question_number));
                }
            }
        }
    }
}

/// Sets the computed min/max numbers of pages and questions from the routing.
pub fn count_paths(template: &mut FormTemplate) {
    let extents = PageGraph::new(template).path_extents();
    template.min_number_of_pages = extents.map(|e| e.min_pages);
    template.max_number_of_pages = extents.map(|e| e.max_pages);
    template.min_number_of_question = extents.map(|e| e.min_questions);
    template.max_number_of_question = extents.map(|e| e.max_questions);
}
