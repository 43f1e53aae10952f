//! The pages of a template as a graph: which pages can follow which, given the routing. Used
//! by the checks (cycles, unreachable pages, "comes earlier") and to count the pages and
//! questions a citizen can pass through.

use std::collections::{BTreeMap, BTreeSet};

use super::model::FormTemplate;

/// The routing graph of a template. Tolerates broken templates: routes to pages that do not
/// exist are left out (the checks report them).
#[derive(Debug, Clone)]
pub struct PageGraph {
    /// Page numbers in ascending order.
    order: Vec<u32>,
    successors: BTreeMap<u32, Vec<u32>>,
    /// Pages after which the form can end (no route taken and no next page).
    can_end: BTreeSet<u32>,
    question_counts: BTreeMap<u32, u32>,
}

impl PageGraph {
    pub fn new(template: &FormTemplate) -> Self {
        let order: Vec<u32> = template
            .pages
            .iter()
            .map(|p| p.page.page_number)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut successors = BTreeMap::new();
        let mut can_end = BTreeSet::new();
        let mut question_counts = BTreeMap::new();
        for routed in &template.pages {
            let number = routed.page.page_number;
            if successors.contains_key(&number) {
                continue; // a duplicate page number; the checks report it
            }
            let count = routed
                .page
                .question_blocks
                .iter()
                .map(|b| u32::try_from(b.questions.len()).unwrap_or(u32::MAX))
                .sum();
            question_counts.insert(number, count);
            let mut next = Vec::new();
            let mut unconditional = false;
            for route in routed.routing.iter().flat_map(|r| &r.routes) {
                if order.binary_search(&route.page_number).is_ok()
                    && !next.contains(&route.page_number)
                {
                    next.push(route.page_number);
                }
                if route.rules.is_empty() {
                    unconditional = true;
                    break;
                }
            }
            if !unconditional {
                match default_next(&order, number) {
                    Some(following) if !next.contains(&following) => next.push(following),
                    Some(_) => {}
                    None => {
                        can_end.insert(number);
                    }
                }
            }
            successors.insert(number, next);
        }
        Self {
            order,
            successors,
            can_end,
            question_counts,
        }
    }

    pub fn first_page(&self) -> Option<u32> {
        self.order.first().copied()
    }

    pub fn pages(&self) -> &[u32] {
        &self.order
    }

    pub fn successors(&self, page: u32) -> &[u32] {
        self.successors.get(&page).map_or(&[], Vec::as_slice)
    }

    pub fn can_end_after(&self, page: u32) -> bool {
        self.can_end.contains(&page)
    }

    /// Pages reachable from `from` by one or more steps.
    pub fn reachable_from(&self, from: u32) -> BTreeSet<u32> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<u32> = self.successors(from).to_vec();
        while let Some(page) = stack.pop() {
            if seen.insert(page) {
                stack.extend_from_slice(self.successors(page));
            }
        }
        seen
    }

    /// Pages no path from the first page reaches.
    pub fn unreachable(&self) -> Vec<u32> {
        let Some(first) = self.first_page() else {
            return Vec::new();
        };
        let mut reached = self.reachable_from(first);
        reached.insert(first);
        self.order
            .iter()
            .copied()
            .filter(|p| !reached.contains(p))
            .collect()
    }

    /// Whether a citizen can have passed `earlier` before arriving at `page`.
    pub fn can_precede(&self, earlier: u32, page: u32) -> bool {
        earlier != page && self.reachable_from(earlier).contains(&page)
    }

    /// Pages every path from the first page to an end passes.
    pub fn always_visited(&self) -> BTreeSet<u32> {
        let Some(first) = self.first_page() else {
            return BTreeSet::new();
        };
        self.order
            .iter()
            .copied()
            .filter(|&page| page == first || !self.can_finish_avoiding(first, page))
            .collect()
    }

    /// Whether some path from `from` reaches an end without passing `avoid`.
    fn can_finish_avoiding(&self, from: u32, avoid: u32) -> bool {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from];
        while let Some(page) = stack.pop() {
            if page == avoid || !seen.insert(page) {
                continue;
            }
            if self.can_end_after(page) {
                return true;
            }
            stack.extend_from_slice(self.successors(page));
        }
        false
    }

    /// Each routing cycle once, as the pages around it (`[2, 3]` for 2 → 3 → 2).
    pub fn cycles(&self) -> Vec<Vec<u32>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        fn visit(
            graph: &PageGraph,
            page: u32,
            marks: &mut BTreeMap<u32, Mark>,
            path: &mut Vec<u32>,
            cycles: &mut Vec<Vec<u32>>,
        ) {
            marks.insert(page, Mark::Open);
            path.push(page);
            for &next in graph.successors(page) {
                match marks.get(&next).copied().unwrap_or(Mark::New) {
                    Mark::New => visit(graph, next, marks, path, cycles),
                    Mark::Open => {
                        let start = path.iter().position(|&p| p == next).unwrap_or(0);
                        cycles.push(path[start..].to_vec());
                    }
                    Mark::Done => {}
                }
            }
            path.pop();
            marks.insert(page, Mark::Done);
        }
        let mut marks = BTreeMap::new();
        let mut cycles = Vec::new();
        for &page in &self.order {
            if marks.get(&page).copied().unwrap_or(Mark::New) == Mark::New {
                visit(self, page, &mut marks, &mut Vec::new(), &mut cycles);
            }
        }
        cycles
    }

    /// The fewest and most pages, and the fewest and most questions, on a path from the first
    /// page to an end. `None` when the graph has a cycle or no path ends.
    pub fn path_extents(&self) -> Option<PathExtents> {
        if !self.cycles().is_empty() {
            return None;
        }
        let first = self.first_page()?;
        let mut memo = BTreeMap::new();
        self.extents_from(first, &mut memo)
    }

    fn extents_from(
        &self,
        page: u32,
        memo: &mut BTreeMap<u32, Option<PathExtents>>,
    ) -> Option<PathExtents> {
        if let Some(known) = memo.get(&page) {
            return *known;
        }
        let here = self.question_counts.get(&page).copied().unwrap_or(0);
        let mut best: Option<PathExtents> = self.can_end_after(page).then_some(PathExtents {
            min_pages: 0,
            max_pages: 0,
            min_questions: 0,
            max_questions: 0,
        });
        for &next in self.successors(page) {
            if let Some(rest) = self.extents_from(next, memo) {
                best = Some(match best {
                    None => rest,
                    Some(b) => PathExtents {
                        min_pages: b.min_pages.min(rest.min_pages),
                        max_pages: b.max_pages.max(rest.max_pages),
                        min_questions: b.min_questions.min(rest.min_questions),
                        max_questions: b.max_questions.max(rest.max_questions),
                    },
                });
            }
        }
        let result = best.map(|b| PathExtents {
            min_pages: b.min_pages + 1,
            max_pages: b.max_pages + 1,
            min_questions: b.min_questions + here,
            max_questions: b.max_questions + here,
        });
        memo.insert(page, result);
        result
    }
}

/// The page after `page` in page-number order.
pub fn default_next(order: &[u32], page: u32) -> Option<u32> {
    order.iter().copied().find(|&p| p > page)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathExtents {
    pub min_pages: u32,
    pub max_pages: u32,
    pub min_questions: u32,
    pub max_questions: u32,
}
