//! The FHIRPath expressions of SDC `calculatedExpression` the engine understands: sums of
//! the answers' scores over a choice of items,
//!
//! ```text
//! %resource.item.answer.value.ordinal().sum()
//! %resource.repeat(item).answer.value.ordinal().sum()
//! %resource.item.where(linkId = 'a' or linkId = 'b').answer.value.ordinal().sum()
//! %resource.repeat(item).where(linkId in ('a' | 'b')).answer.value.weight().sum()
//! %resource.item.where(linkId.matches('^phq9-q0[1-9]$')).answer.value.ordinal().sum()
//! ```
//!
//! (`ordinal()` and `weight()` alike; the condition is built from `linkId = / != 'x'`,
//! `linkId in ('x' | 'y')`, `linkId.matches('re')`, `and`, `or`, `not()` and brackets).
//! Anything else is not recognised, and the import names the item. This is a recogniser of
//! these shapes, not a FHIRPath engine: the engine evaluates its own formula language.

use regex::Regex;

/// Which items a recognised sum reads.
#[derive(Debug, Clone)]
pub struct ScoreSum {
    /// `repeat(item)`: items at every depth; else only the Questionnaire's top-level items.
    pub every_depth: bool,
    /// The condition on each item's linkId; none takes every item.
    pub condition: Option<Condition>,
}

#[derive(Debug, Clone)]
pub enum Condition {
    Equals(String),
    NotEquals(String),
    In(Vec<String>),
    Matches(Regex),
    Not(Box<Condition>),
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
}

impl Condition {
    pub fn holds(&self, link_id: &str) -> bool {
        match self {
            Self::Equals(v) => link_id == v,
            Self::NotEquals(v) => link_id != v,
            Self::In(values) => values.iter().any(|v| v == link_id),
            Self::Matches(re) => re.is_match(link_id),
            Self::Not(inner) => !inner.holds(link_id),
            Self::And(a, b) => a.holds(link_id) && b.holds(link_id),
            Self::Or(a, b) => a.holds(link_id) || b.holds(link_id),
        }
    }
}

impl ScoreSum {
    /// Whether the sum reads the item with this linkId (at this depth, 0 = top level).
    pub fn selects(&self, link_id: &str, depth: usize) -> bool {
        (self.every_depth || depth == 0) && self.condition.as_ref().is_none_or(|c| c.holds(link_id))
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Symbol(&'static str),
}

fn tokens(expression: &str) -> Option<Vec<Token>> {
    let mut out = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' || c == '%' {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_ascii_alphanumeric() || c == '_' || (c == '%' && word.is_empty()) {
                    word.push(c);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(Token::Word(word));
        } else if c == '\'' {
            chars.next();
            let mut text = String::new();
            loop {
                match chars.next()? {
                    '\'' => break,
                    '\\' => match chars.next()? {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        other => text.push(other),
                    },
                    other => text.push(other),
                }
            }
            out.push(Token::Text(text));
        } else {
            chars.next();
            let symbol = match c {
                '.' => ".",
                '(' => "(",
                ')' => ")",
                '|' => "|",
                '=' => "=",
                '~' => "~",
                '!' if chars.peek() == Some(&'=') => {
                    chars.next();
                    "!="
                }
                _ => return None,
            };
            out.push(Token::Symbol(symbol));
        }
    }
    Some(out)
}

struct Reader {
    tokens: Vec<Token>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn word(&mut self, word: &str) -> Option<()> {
        match self.peek() {
            Some(Token::Word(w)) if w == word => {
                self.at += 1;
                Some(())
            }
            _ => None,
        }
    }

    fn symbol(&mut self, symbol: &str) -> Option<()> {
        match self.peek() {
            Some(Token::Symbol(s)) if *s == symbol => {
                self.at += 1;
                Some(())
            }
            _ => None,
        }
    }

    fn text(&mut self) -> Option<String> {
        match self.peek() {
            Some(Token::Text(t)) => {
                let t = t.clone();
                self.at += 1;
                Some(t)
            }
            _ => None,
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w == word)
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol)
    }

    fn or(&mut self) -> Option<Condition> {
        let mut left = self.and()?;
        while self.is_word("or") {
            self.at += 1;
            left = Condition::Or(Box::new(left), Box::new(self.and()?));
        }
        Some(left)
    }

    fn and(&mut self) -> Option<Condition> {
        let mut left = self.atom()?;
        while self.is_word("and") {
            self.at += 1;
            left = Condition::And(Box::new(left), Box::new(self.atom()?));
        }
        Some(left)
    }

    fn atom(&mut self) -> Option<Condition> {
        let inner = if self.is_symbol("(") {
            self.at += 1;
            let inner = self.or()?;
            self.symbol(")")?;
            inner
        } else {
            self.word("linkId")?;
            if self.is_symbol("=") || self.is_symbol("~") {
                self.at += 1;
                Condition::Equals(self.text()?)
            } else if self.is_symbol("!=") {
                self.at += 1;
                Condition::NotEquals(self.text()?)
            } else if self.is_word("in") {
                self.at += 1;
                let bracketed = self.symbol("(").is_some();
                let mut values = vec![self.text()?];
                while self.symbol("|").is_some() {
                    values.push(self.text()?);
                }
                if bracketed {
                    self.symbol(")")?;
                }
                Condition::In(values)
            } else {
                self.symbol(".")?;
                self.word("matches")?;
                self.symbol("(")?;
                let pattern = self.text()?;
                self.symbol(")")?;
                // FHIRPath's matches() finds the expression anywhere in the string.
                Condition::Matches(Regex::new(&pattern).ok()?)
            }
        };
        // `(condition).not()`
        if self.is_symbol(".")
            && matches!(self.tokens.get(self.at + 1), Some(Token::Word(w)) if w == "not")
        {
            self.at += 2;
            self.symbol("(")?;
            self.symbol(")")?;
            return Some(Condition::Not(Box::new(inner)));
        }
        Some(inner)
    }
}

/// Reads a score sum, or `None` when the expression is not one of the shapes above.
pub fn score_sum(expression: &str) -> Option<ScoreSum> {
    let mut r = Reader {
        tokens: tokens(expression)?,
        at: 0,
    };
    r.word("%resource")?;
    r.symbol(".")?;
    let every_depth = if r.word("repeat").is_some() {
        r.symbol("(")?;
        r.word("item")?;
        r.symbol(")")?;
        true
    } else {
        r.word("item")?;
        false
    };
    r.symbol(".")?;
    let condition = if r.word("where").is_some() {
        r.symbol("(")?;
        let condition = r.or()?;
        r.symbol(")")?;
        r.symbol(".")?;
        Some(condition)
    } else {
        None
    };
    r.word("answer")?;
    r.symbol(".")?;
    r.word("value")?;
    r.symbol(".")?;
    if r.word("ordinal").is_none() {
        r.word("weight")?;
    }
    r.symbol("(")?;
    r.symbol(")")?;
    r.symbol(".")?;
    r.word("sum")?;
    r.symbol("(")?;
    r.symbol(")")?;
    (r.at == r.tokens.len()).then_some(ScoreSum {
        every_depth,
        condition,
    })
}

/// The FHIRPath of a sum of the scores of these items (linkIds), as the engine exports it.
pub fn score_sum_expression(link_ids: &[String]) -> String {
    let quoted: Vec<String> = link_ids
        .iter()
        .map(|id| format!("'{}'", id.replace('\\', "\\\\").replace('\'', "\\'")))
        .collect();
    format!(
        "%resource.repeat(item).where(linkId in ({})).answer.value.ordinal().sum()",
        quoted.join(" | ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks(expression: &str, link_id: &str, depth: usize) -> bool {
        score_sum(expression)
            .unwrap_or_else(|| panic!("not read: {expression}"))
            .selects(link_id, depth)
    }

    #[test]
    fn the_plain_sums_read_every_item_at_their_depth() {
        let top = "%resource.item.answer.value.ordinal().sum()";
        assert!(picks(top, "a", 0));
        assert!(!picks(top, "a", 1));
        let every = "%resource.repeat(item).answer.value.weight().sum()";
        assert!(picks(every, "a", 0) && picks(every, "a", 3));
    }

    #[test]
    fn conditions_on_link_ids_choose_the_items() {
        let e = "%resource.item.where(linkId = 'a' or linkId='b').answer.value.ordinal().sum()";
        assert!(picks(e, "a", 0) && picks(e, "b", 0) && !picks(e, "c", 0));
        let e =
            "%resource.repeat(item).where(linkId in ('x' | 'y\\'s')).answer.value.ordinal().sum()";
        assert!(picks(e, "y's", 2) && !picks(e, "z", 0));
        let e = "%resource.item.where(linkId != '/44261-6' and (linkId = 'a' or linkId = '/44261-6')).answer.value.ordinal().sum()";
        assert!(picks(e, "a", 0) && !picks(e, "/44261-6", 0));
        let e =
            "%resource.item.where(linkId.matches('^phq-q0[1-9]$')).answer.value.ordinal().sum()";
        assert!(picks(e, "phq-q05", 0) && !picks(e, "phq-q10", 0));
        let e = "%resource.item.where((linkId = 'a').not()).answer.value.ordinal().sum()";
        assert!(!picks(e, "a", 0) && picks(e, "b", 0));
    }

    #[test]
    fn other_expressions_are_not_read() {
        for e in [
            "%resource.item.answer.value.ordinal().sum() / 2",
            "%resource.item.answer.value.sum()",
            "iif(%resource.item.answer.value.ordinal().sum() > 3, 1, 0)",
            "%resource.item.where(text = 'a').answer.value.ordinal().sum()",
            "%resource.item.where(linkId.matches('(')).answer.value.ordinal().sum()",
            "%a + %b",
            "%resource.item.where(linkId = 'a).answer.value.ordinal().sum()",
        ] {
            assert!(score_sum(e).is_none(), "{e}");
        }
    }

    #[test]
    fn the_exported_expression_reads_back_as_the_same_items() {
        let ids = vec!["phq1".to_owned(), "it's".to_owned()];
        let sum = score_sum(&score_sum_expression(&ids)).unwrap();
        assert!(sum.selects("phq1", 1) && sum.selects("it's", 0) && !sum.selects("phq2", 0));
    }
}
