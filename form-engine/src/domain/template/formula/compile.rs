//! From a syntax tree to a program: names resolved to the template's questions and
//! calculations, every operation checked for the kinds of values it gets (numbers or yes/no),
//! and the references between calculations collected (for the cycle check and the order of
//! evaluation).

use std::collections::{BTreeMap, BTreeSet};

use super::FormulaProblem;
use super::syntax::{BinaryOp, Expr, Function, Node, Span, UnaryOp};
use crate::domain::template::input::{AnswerKind, InputType};
use crate::domain::template::model::TemplateQuestion;

/// Most decimals `round(x, n)` takes: more are below what a double holds for scores.
pub const MAX_ROUND_DECIMALS: i32 = 10;

/// What the formulas need to know of a question.
#[derive(Debug, Clone)]
pub struct Question {
    pub id: String,
    pub number: u32,
    pub input: InputType,
    /// Each alternative's number and score.
    pub alternatives: Vec<(u32, Option<f64>)>,
}

impl Question {
    pub fn new(question: &TemplateQuestion) -> Self {
        Self {
            id: question.id(),
            number: question.question_number,
            input: question.input,
            alternatives: question
                .answer_alternatives
                .iter()
                .map(|a| (a.answer_alternative_number, a.score))
                .collect(),
        }
    }

    fn kind(&self) -> AnswerKind {
        self.input.answer_kind()
    }

    /// The first alternative without a score, if any.
    fn unscored(&self) -> Option<u32> {
        self.alternatives
            .iter()
            .find(|(_, score)| score.is_none())
            .map(|(number, _)| *number)
    }
}

/// A checked formula, ready to evaluate. Questions and calculations are indexes into the
/// template's lists.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Number(f64),
    Bool(bool),
    /// The score of the chosen alternative; of a checkbox answer, the sum of the chosen.
    Score(usize),
    /// A number or range answer; the alternative number of a radio or select answer.
    Value(usize),
    Answered(usize),
    Calculation(usize),
    Negate(Box<Term>),
    Not(Box<Term>),
    /// `+ - * / ^`
    Arithmetic(BinaryOp, Box<Term>, Box<Term>),
    /// Comparison of two numbers.
    Compare(BinaryOp, Box<Term>, Box<Term>),
    /// `==` (true) or `!=` (false) of two yes/no values.
    Same(bool, Box<Term>, Box<Term>),
    /// Only evaluates the right side when the left is true.
    And(Box<Term>, Box<Term>),
    /// Only evaluates the right side when the left is false.
    Or(Box<Term>, Box<Term>),
    /// Only evaluates the branch taken.
    If(Box<Term>, Box<Term>, Box<Term>),
    Sum(Vec<Term>),
    Min(Vec<Term>),
    Max(Vec<Term>),
    /// How many of the yes/no terms are true.
    Count(Vec<Term>),
    Round(Box<Term>, i32),
    Floor(Box<Term>),
    Ceil(Box<Term>),
    Abs(Box<Term>),
}

/// The kind of value a term gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Number,
    Bool,
}

impl Type {
    fn described(self) -> &'static str {
        match self {
            Self::Number => "a number",
            Self::Bool => "yes or no (a comparison or condition)",
        }
    }
}

/// The names a formula can use: the template's questions and calculations.
pub struct Names<'a> {
    pub questions: &'a [Question],
    pub question_ids: BTreeMap<&'a str, usize>,
    pub calculation_ids: BTreeMap<&'a str, usize>,
    /// Calculations the engine does not evaluate (another formula type), with that type.
    pub foreign: BTreeMap<usize, &'a str>,
}

/// What a name stands for.
enum Named {
    Question(usize),
    Calculation(usize),
}

/// Compiles one formula; every problem is reported, not only the first. Returns the program
/// (when there were no problems) and the calculations it refers to.
pub fn compile(
    root: &Node,
    names: &Names<'_>,
    problems: &mut Vec<FormulaProblem>,
) -> (Option<Term>, BTreeSet<usize>) {
    let mut compiler = Compiler {
        names,
        problems,
        references: BTreeSet::new(),
    };
    let term = match compiler.term(root) {
        Some((term, Type::Number)) => Some(term),
        Some((_, Type::Bool)) => {
            compiler.type_error(
                root.span,
                "the formula gives yes or no, not a number; write if(condition, 1, 0) for a 1 or 0",
            );
            None
        }
        None => None,
    };
    let term = if compiler.problems.is_empty() {
        term
    } else {
        None
    };
    (term, compiler.references)
}

struct Compiler<'n, 'p> {
    names: &'n Names<'n>,
    problems: &'p mut Vec<FormulaProblem>,
    references: BTreeSet<usize>,
}

impl Compiler<'_, '_> {
    fn type_error(&mut self, span: Span, message: impl Into<String>) {
        self.problems.push(FormulaProblem::Type {
            position: span.position(),
            message: message.into(),
        });
    }

    fn resolve(&mut self, name: &str, span: Span) -> Option<Named> {
        let question = self.names.question_ids.get(name).copied();
        let calculation = self.names.calculation_ids.get(name).copied();
        match (question, calculation) {
            (Some(q), None) => Some(Named::Question(q)),
            (None, Some(c)) => Some(Named::Calculation(c)),
            (Some(_), Some(_)) => {
                self.problems.push(FormulaProblem::AmbiguousName {
                    position: span.position(),
                    name: name.to_owned(),
                });
                None
            }
            (None, None) => {
                self.problems.push(FormulaProblem::UnknownName {
                    position: span.position(),
                    name: name.to_owned(),
                });
                None
            }
        }
    }

    fn question(&self, index: usize) -> &Question {
        &self.names.questions[index]
    }

    /// A calculation's outcome as a number.
    fn calculation(&mut self, index: usize, name: &str, span: Span) -> Option<(Term, Type)> {
        if let Some(formula_type) = self.names.foreign.get(&index) {
            self.type_error(
                span,
                format!(
                    "`{name}` is a formula of type `{formula_type}`, which this engine does not evaluate"
                ),
            );
            return None;
        }
        self.references.insert(index);
        Some((Term::Calculation(index), Type::Number))
    }

    /// The number a question stands for when named on its own: the score of a choice, the
    /// value of a number or range answer.
    fn numeric(&mut self, index: usize, span: Span) -> Option<Term> {
        let question = self.question(index);
        match question.kind() {
            AnswerKind::SingleChoice | AnswerKind::MultipleChoice => self.score(index, span),
            AnswerKind::Number => Some(Term::Value(index)),
            _ => {
                let message = format!(
                    "`{}` is a {} question, which gives no number; name choice questions (their scores) and number and range questions",
                    question.id, question.input
                );
                self.type_error(span, message);
                None
            }
        }
    }

    fn score(&mut self, index: usize, span: Span) -> Option<Term> {
        let question = self.question(index);
        if !question.input.is_choice() {
            let message = format!(
                "`{}` is a {} question; only radio, select and checkbox answers have scores",
                question.id, question.input
            );
            self.type_error(span, message);
            return None;
        }
        if let Some(number) = question.unscored() {
            let instead = if question.kind() == AnswerKind::SingleChoice {
                format!(", or use value({}) for the alternative number", question.id)
            } else {
                String::new()
            };
            let message = format!(
                "alternative {number} of `{}` has no score; give every alternative a score{instead}",
                question.id
            );
            self.type_error(span, message);
            return None;
        }
        Some(Term::Score(index))
    }

    /// The question a function like score() is applied to.
    fn question_argument(
        &mut self,
        function: Function,
        arguments: &[Node],
        span: Span,
    ) -> Option<usize> {
        let [argument] = arguments else {
            self.type_error(
                span,
                format!("{function}() takes one question id, like {function}(q1)"),
            );
            return None;
        };
        let Expr::Name(name) = &argument.expr else {
            self.type_error(
                argument.span,
                format!("{function}() takes a question id, like {function}(q1)"),
            );
            return None;
        };
        match self.resolve(name, argument.span)? {
            Named::Question(index) => Some(index),
            Named::Calculation(_) => {
                self.type_error(
                    argument.span,
                    format!(
                        "`{name}` is a calculation; {function}() takes a question id (name the calculation on its own for its outcome)"
                    ),
                );
                None
            }
        }
    }

    /// Whether a question is answered; an image never is (it takes no answer).
    fn answered(&mut self, index: usize, span: Span) -> Option<Term> {
        if self.question(index).kind() == AnswerKind::None {
            let message = format!(
                "`{}` is an image, which takes no answer",
                self.question(index).id
            );
            self.type_error(span, message);
            return None;
        }
        Some(Term::Answered(index))
    }

    /// The questions numbered from `from` to `to`, images left out (they take no answer).
    fn range(&mut self, from: &str, to: &str, span: Span) -> Option<Vec<usize>> {
        let mut ends = Vec::new();
        for name in [from, to] {
            match self.resolve(name, span)? {
                Named::Question(index) => ends.push(self.question(index).number),
                Named::Calculation(_) => {
                    self.type_error(
                        span,
                        format!("`{name}` is a calculation; a range runs between two questions"),
                    );
                    return None;
                }
            }
        }
        let (first, last) = (ends[0], ends[1]);
        if first > last {
            self.type_error(
                span,
                format!(
                    "the range runs backwards: `{from}` is question {first}, `{to}` question {last}"
                ),
            );
            return None;
        }
        let mut inside: Vec<usize> = (0..self.names.questions.len())
            .filter(|&i| {
                let q = self.question(i);
                (first..=last).contains(&q.number) && q.input != InputType::Image
            })
            .collect();
        inside.sort_by_key(|&i| self.question(i).number);
        Some(inside)
    }

    fn expect(&mut self, node: &Node, wanted: Type, context: &str) -> Option<Term> {
        let (term, found) = self.term(node)?;
        if found == wanted {
            Some(term)
        } else {
            self.type_error(
                node.span,
                format!(
                    "{context} needs {}, but this gives {}",
                    wanted.described(),
                    found.described()
                ),
            );
            None
        }
    }

    /// Compiles each node, so every problem is reported, and gives all or nothing.
    fn each(&mut self, nodes: &[Node], wanted: Type, context: &str) -> Option<Vec<Term>> {
        let terms: Vec<Option<Term>> = nodes
            .iter()
            .map(|node| self.expect(node, wanted, context))
            .collect();
        terms.into_iter().collect()
    }

    fn term(&mut self, node: &Node) -> Option<(Term, Type)> {
        let span = node.span;
        match &node.expr {
            Expr::Number(n) => Some((Term::Number(*n), Type::Number)),
            Expr::Bool(b) => Some((Term::Bool(*b), Type::Bool)),
            Expr::Name(name) => match self.resolve(name, span)? {
                Named::Question(index) => Some((self.numeric(index, span)?, Type::Number)),
                Named::Calculation(index) => self.calculation(index, name, span),
            },
            Expr::Unary(UnaryOp::Negate, operand) => {
                let operand = self.expect(operand, Type::Number, "`-`")?;
                Some((Term::Negate(Box::new(operand)), Type::Number))
            }
            Expr::Unary(UnaryOp::Not, operand) => {
                let operand = self.expect(operand, Type::Bool, "`not`")?;
                Some((Term::Not(Box::new(operand)), Type::Bool))
            }
            Expr::Binary(op, left, right) => self.binary(*op, left, right),
            Expr::Call(function, arguments) => self.call(*function, arguments, span),
            Expr::Range(..) => {
                self.type_error(
                    span,
                    "a range of questions (`first:last`) can only be an argument of sum, min, max or count",
                );
                None
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, left: &Node, right: &Node) -> Option<(Term, Type)> {
        let context = format!("`{}`", op.symbol());
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let l = self.expect(left, Type::Bool, &context);
                let r = self.expect(right, Type::Bool, &context);
                let (l, r) = (Box::new(l?), Box::new(r?));
                let term = if op == BinaryOp::And {
                    Term::And(l, r)
                } else {
                    Term::Or(l, r)
                };
                Some((term, Type::Bool))
            }
            BinaryOp::Equal | BinaryOp::NotEqual => {
                let l = self.term(left);
                let r = self.term(right);
                let ((l, lt), (r, rt)) = (l?, r?);
                match (lt, rt) {
                    (Type::Number, Type::Number) => {
                        Some((Term::Compare(op, Box::new(l), Box::new(r)), Type::Bool))
                    }
                    (Type::Bool, Type::Bool) => Some((
                        Term::Same(op == BinaryOp::Equal, Box::new(l), Box::new(r)),
                        Type::Bool,
                    )),
                    _ => {
                        self.type_error(
                            left.span,
                            format!(
                                "{context} compares a number with yes or no; compare two numbers or two conditions"
                            ),
                        );
                        None
                    }
                }
            }
            _ if op.is_comparison() => {
                let l = self.expect(left, Type::Number, &context);
                let r = self.expect(right, Type::Number, &context);
                Some((Term::Compare(op, Box::new(l?), Box::new(r?)), Type::Bool))
            }
            _ => {
                let l = self.expect(left, Type::Number, &context);
                let r = self.expect(right, Type::Number, &context);
                Some((
                    Term::Arithmetic(op, Box::new(l?), Box::new(r?)),
                    Type::Number,
                ))
            }
        }
    }

    fn arity(&mut self, function: Function, arguments: &[Node], span: Span, n: usize) -> bool {
        if arguments.len() == n {
            return true;
        }
        let plural = if n == 1 { "" } else { "s" };
        self.type_error(
            span,
            format!(
                "{function}() takes {n} argument{plural}, not {}",
                arguments.len()
            ),
        );
        false
    }

    fn call(&mut self, function: Function, arguments: &[Node], span: Span) -> Option<(Term, Type)> {
        let context = format!("{function}()");
        let number = |term: Term| Some((term, Type::Number));
        match function {
            Function::Sum | Function::Min | Function::Max => {
                let terms = self.aggregate(function, arguments, span)?;
                number(match function {
                    Function::Sum => Term::Sum(terms),
                    Function::Min => Term::Min(terms),
                    _ => Term::Max(terms),
                })
            }
            Function::Count => {
                let terms = self.aggregate(function, arguments, span)?;
                number(Term::Count(terms))
            }
            Function::If => {
                if !self.arity(function, arguments, span, 3) {
                    return None;
                }
                let condition = self.expect(&arguments[0], Type::Bool, "the condition of if()");
                let then = self.term(&arguments[1]);
                let otherwise = self.term(&arguments[2]);
                let (condition, (then, then_type), (otherwise, otherwise_type)) =
                    (condition?, then?, otherwise?);
                if then_type != otherwise_type {
                    self.type_error(
                        arguments[2].span,
                        format!(
                            "both branches of if() must give the same kind of value: the first gives {}, this one {}",
                            then_type.described(),
                            otherwise_type.described()
                        ),
                    );
                    return None;
                }
                Some((
                    Term::If(Box::new(condition), Box::new(then), Box::new(otherwise)),
                    then_type,
                ))
            }
            Function::Score => {
                let index = self.question_argument(function, arguments, span)?;
                number(self.score(index, arguments[0].span)?)
            }
            Function::Value => {
                let index = self.question_argument(function, arguments, span)?;
                let question = self.question(index);
                if matches!(
                    question.kind(),
                    AnswerKind::SingleChoice | AnswerKind::Number
                ) {
                    number(Term::Value(index))
                } else {
                    let message = format!(
                        "`{}` is a {} question; value() reads number and range answers and the alternative number of radio and select answers",
                        question.id, question.input
                    );
                    self.type_error(arguments[0].span, message);
                    None
                }
            }
            Function::Answered => {
                let index = self.question_argument(function, arguments, span)?;
                Some((self.answered(index, arguments[0].span)?, Type::Bool))
            }
            Function::Round => {
                if arguments.is_empty() || arguments.len() > 2 {
                    self.type_error(
                        span,
                        "round() takes a number and, optionally, how many decimals to keep",
                    );
                    return None;
                }
                let value = self.expect(&arguments[0], Type::Number, &context);
                let decimals = match arguments.get(1) {
                    None => Some(0),
                    Some(node) => self.decimals(node),
                };
                number(Term::Round(Box::new(value?), decimals?))
            }
            Function::Floor | Function::Ceil | Function::Abs => {
                if !self.arity(function, arguments, span, 1) {
                    return None;
                }
                let value = Box::new(self.expect(&arguments[0], Type::Number, &context)?);
                number(match function {
                    Function::Floor => Term::Floor(value),
                    Function::Ceil => Term::Ceil(value),
                    _ => Term::Abs(value),
                })
            }
        }
    }

    /// The decimals of round(x, n): a whole number written out, so the shape of the outcome
    /// is known from the template.
    fn decimals(&mut self, node: &Node) -> Option<i32> {
        let limit = f64::from(MAX_ROUND_DECIMALS);
        match node.expr {
            #[allow(clippy::cast_possible_truncation)] // checked: whole and within ±10
            Expr::Number(n) if n.fract() == 0.0 && n <= limit => Some(n as i32),
            _ => {
                self.type_error(
                    node.span,
                    format!(
                        "the decimals of round() are a whole number from 0 to {MAX_ROUND_DECIMALS}, written out"
                    ),
                );
                None
            }
        }
    }

    /// The arguments of sum, min, max (numbers) and count (yes/no). A range stands for each
    /// of its questions; in count a question, on its own or in a range, counts when answered.
    fn aggregate(
        &mut self,
        function: Function,
        arguments: &[Node],
        span: Span,
    ) -> Option<Vec<Term>> {
        let counting = function == Function::Count;
        if arguments.is_empty() {
            self.type_error(
                span,
                format!("{function}() needs at least one argument or range of questions"),
            );
            return None;
        }
        let mut terms = Vec::new();
        let mut failed = false;
        for argument in arguments {
            let compiled: Option<Vec<Term>> = match &argument.expr {
                Expr::Range(from, to) => self.range(from, to, argument.span).and_then(|inside| {
                    let terms: Vec<Option<Term>> = inside
                        .into_iter()
                        .map(|index| {
                            if counting {
                                Some(Term::Answered(index))
                            } else {
                                self.numeric(index, argument.span)
                            }
                        })
                        .collect();
                    terms.into_iter().collect()
                }),
                Expr::Name(name)
                    if counting && self.names.question_ids.contains_key(name.as_str()) =>
                {
                    match self.resolve(name, argument.span) {
                        Some(Named::Question(index)) => {
                            self.answered(index, argument.span).map(|term| vec![term])
                        }
                        _ => None,
                    }
                }
                _ => {
                    let wanted = if counting { Type::Bool } else { Type::Number };
                    self.each(
                        std::slice::from_ref(argument),
                        wanted,
                        &format!("{function}()"),
                    )
                }
            };
            match compiled {
                Some(more) => terms.extend(more),
                None => failed = true,
            }
        }
        (!failed).then_some(terms)
    }
}
