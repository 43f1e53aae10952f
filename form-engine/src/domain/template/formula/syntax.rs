//! Reading a formula: its tokens and its syntax tree. Nothing here knows the template; names
//! are resolved to questions and calculations by [`super::compile`].

use std::fmt;

/// Longest formula, in characters: instruments sum a few dozen items, and a bound keeps the
/// work of checking and evaluating small.
pub const MAX_LENGTH: usize = 5000;

/// Deepest nesting of parentheses, operators and calls. The parser, the checks and the
/// evaluation recurse over the tree, so the bound keeps them off the end of the stack.
pub const MAX_DEPTH: usize = 100;

/// A formula that cannot be read, and where (a character position, from 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at character {position}: {message}")]
pub struct SyntaxError {
    pub position: usize,
    pub message: String,
}

/// Characters `start..end` of the formula, counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The position a person reads: the first character is 1.
    pub fn position(self) -> usize {
        self.start + 1
    }

    fn to(self, other: Span) -> Span {
        Span {
            start: self.start,
            end: other.end,
        }
    }
}

/// A node of the syntax tree with where it is in the formula.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub expr: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Bool(bool),
    /// A question id or a calculationId.
    Name(String),
    Unary(UnaryOp, Box<Node>),
    Binary(BinaryOp, Box<Node>, Box<Node>),
    Call(Function, Vec<Node>),
    /// `first:last`, every question numbered from `first` to `last`; only an argument of
    /// sum, min, max and count.
    Range(String, String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Negate,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Power,
    Equal,
    NotEqual,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            Self::Equal
                | Self::NotEqual
                | Self::Less
                | Self::LessOrEqual
                | Self::Greater
                | Self::GreaterOrEqual
        )
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Self::Add => "+",
            Self::Subtract => "-",
            Self::Multiply => "*",
            Self::Divide => "/",
            Self::Power => "^",
            Self::Equal => "==",
            Self::NotEqual => "!=",
            Self::Less => "<",
            Self::LessOrEqual => "<=",
            Self::Greater => ">",
            Self::GreaterOrEqual => ">=",
            Self::And => "and",
            Self::Or => "or",
        }
    }
}

/// The functions of the language. Calls name one of these; there are no others (and no way
/// to define one), so a formula can only do what is listed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Sum,
    Min,
    Max,
    Count,
    If,
    Score,
    Value,
    Answered,
    Round,
    Floor,
    Ceil,
    Abs,
}

impl Function {
    pub const ALL: [Self; 12] = [
        Self::Sum,
        Self::Min,
        Self::Max,
        Self::Count,
        Self::If,
        Self::Score,
        Self::Value,
        Self::Answered,
        Self::Round,
        Self::Floor,
        Self::Ceil,
        Self::Abs,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sum => "sum",
            Self::Min => "min",
            Self::Max => "max",
            Self::Count => "count",
            Self::If => "if",
            Self::Score => "score",
            Self::Value => "value",
            Self::Answered => "answered",
            Self::Round => "round",
            Self::Floor => "floor",
            Self::Ceil => "ceil",
            Self::Abs => "abs",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    /// A bare name: letters, digits, `_` and `.`, not starting with a digit or `.`.
    Word(String),
    /// A name in backticks, for ids with other characters (`phq-9`).
    Quoted(String),
    Op(&'static str),
    LeftParen,
    RightParen,
    Comma,
    Colon,
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "the number {n}"),
            Self::Word(w) => write!(f, "`{w}`"),
            Self::Quoted(w) => write!(f, "`{w}` (in backticks)"),
            Self::Op(op) => write!(f, "`{op}`"),
            Self::LeftParen => f.write_str("`(`"),
            Self::RightParen => f.write_str("`)`"),
            Self::Comma => f.write_str("`,`"),
            Self::Colon => f.write_str("`:`"),
            Self::End => f.write_str("the end of the formula"),
        }
    }
}

fn error(at: usize, message: impl Into<String>) -> SyntaxError {
    SyntaxError {
        position: at + 1,
        message: message.into(),
    }
}

fn tokens(text: &str) -> Result<Vec<(Token, Span)>, SyntaxError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let token = if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < chars.len() && chars[i] == '.' && chars[i + 1].is_ascii_digit() {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '_') {
                return Err(error(
                    start,
                    "a name cannot start with a digit; put the id in backticks, like `1a`",
                ));
            }
            let literal: String = chars[start..i].iter().collect();
            let value: f64 = literal
                .parse()
                .map_err(|_| error(start, format!("`{literal}` is not a number")))?;
            Token::Number(value)
        } else if c.is_ascii_alphabetic() || c == '_' {
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            Token::Word(chars[start..i].iter().collect())
        } else if c == '`' {
            i += 1;
            while i < chars.len() && chars[i] != '`' {
                i += 1;
            }
            if i == chars.len() {
                return Err(error(start, "the name in backticks is not closed with `"));
            }
            let name: String = chars[start + 1..i].iter().collect();
            i += 1;
            if name.trim().is_empty() {
                return Err(error(start, "empty backticks name nothing"));
            }
            Token::Quoted(name)
        } else {
            let next = chars.get(i + 1).copied();
            let (token, width) = match (c, next) {
                ('(', _) => (Token::LeftParen, 1),
                (')', _) => (Token::RightParen, 1),
                (',', _) => (Token::Comma, 1),
                (':', _) => (Token::Colon, 1),
                ('=', Some('=')) => (Token::Op("=="), 2),
                ('!', Some('=')) => (Token::Op("!="), 2),
                ('<', Some('=')) => (Token::Op("<="), 2),
                ('>', Some('=')) => (Token::Op(">="), 2),
                ('&', Some('&')) => (Token::Op("and"), 2),
                ('|', Some('|')) => (Token::Op("or"), 2),
                ('<', _) => (Token::Op("<"), 1),
                ('>', _) => (Token::Op(">"), 1),
                ('!', _) => (Token::Op("not"), 1),
                ('+', _) => (Token::Op("+"), 1),
                ('-', _) => (Token::Op("-"), 1),
                ('*', _) => (Token::Op("*"), 1),
                ('/', _) => (Token::Op("/"), 1),
                ('^', _) => (Token::Op("^"), 1),
                ('=', _) => return Err(error(start, "compare with `==`, not `=`")),
                _ => {
                    return Err(error(
                        start,
                        format!(
                            "`{c}` has no meaning in a formula; put an id with it in backticks"
                        ),
                    ));
                }
            };
            i += width;
            token
        };
        out.push((token, Span { start, end: i }));
    }
    out.push((
        Token::End,
        Span {
            start: chars.len(),
            end: chars.len(),
        },
    ));
    Ok(out)
}

/// Reads a formula into its syntax tree.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let length = text.chars().count();
    if length > MAX_LENGTH {
        return Err(error(
            MAX_LENGTH,
            format!("the formula is {length} characters long; at most {MAX_LENGTH} are read"),
        ));
    }
    let mut parser = Parser {
        tokens: tokens(text)?,
        next: 0,
        depth: 0,
    };
    let node = parser.expression()?;
    match parser.peek() {
        Token::End => Ok(node),
        Token::Colon => Err(error(
            parser.span().start,
            "a range of questions (`first:last`) can only be an argument of sum, min, max or count",
        )),
        token => Err(error(
            parser.span().start,
            format!("expected an operator or the end of the formula, found {token}"),
        )),
    }
}

struct Parser {
    tokens: Vec<(Token, Span)>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].0
    }

    fn span(&self) -> Span {
        self.tokens[self.next].1
    }

    fn advance(&mut self) -> (Token, Span) {
        let item = self.tokens[self.next].clone();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        item
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Token::Op(o) if *o == op)
            || matches!(self.peek(), Token::Word(w) if w == op && (op == "and" || op == "or" || op == "not"))
    }

    fn expect(&mut self, wanted: &Token, what: &str) -> Result<Span, SyntaxError> {
        if self.peek() == wanted {
            Ok(self.advance().1)
        } else {
            Err(error(
                self.span().start,
                format!("expected {what}, found {}", self.peek()),
            ))
        }
    }

    /// Counts one level of nesting; refused past [`MAX_DEPTH`].
    fn enter(&mut self) -> Result<(), SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(
                self.span().start,
                format!("the formula nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn expression(&mut self) -> Result<Node, SyntaxError> {
        self.enter()?;
        let node = self.or();
        self.depth -= 1;
        node
    }

    fn binary(op: BinaryOp, left: Node, right: Node) -> Node {
        let span = left.span.to(right.span);
        Node {
            expr: Expr::Binary(op, Box::new(left), Box::new(right)),
            span,
        }
    }

    /// A left-associative chain `a op b op c`. Each link deepens the tree, so it counts
    /// towards the nesting bound.
    fn chain(
        &mut self,
        ops: &[(&str, BinaryOp)],
        operand: fn(&mut Self) -> Result<Node, SyntaxError>,
    ) -> Result<Node, SyntaxError> {
        let mut left = operand(self)?;
        let entered = self.depth;
        let result = loop {
            let Some(&(_, op)) = ops.iter().find(|(symbol, _)| self.is_op(symbol)) else {
                break Ok(left);
            };
            self.advance();
            if let Err(e) = self.enter() {
                break Err(e);
            }
            match operand(self) {
                Ok(right) => left = Self::binary(op, left, right),
                Err(e) => break Err(e),
            }
        };
        self.depth = entered;
        result
    }

    fn or(&mut self) -> Result<Node, SyntaxError> {
        self.chain(&[("or", BinaryOp::Or)], Self::and)
    }

    fn and(&mut self) -> Result<Node, SyntaxError> {
        self.chain(&[("and", BinaryOp::And)], Self::negation)
    }

    /// `not` applies to the whole comparison after it (`not a == 3` is `not (a == 3)`), as
    /// in most languages with a word for it; only yes/no values can be negated anyway.
    fn negation(&mut self) -> Result<Node, SyntaxError> {
        if !self.is_op("not") {
            return self.comparison();
        }
        let start = self.advance().1;
        self.enter()?;
        let operand = self.negation();
        self.depth -= 1;
        let operand = operand?;
        let span = start.to(operand.span);
        Ok(Node {
            expr: Expr::Unary(UnaryOp::Not, Box::new(operand)),
            span,
        })
    }

    fn comparison(&mut self) -> Result<Node, SyntaxError> {
        const OPS: [(&str, BinaryOp); 6] = [
            ("==", BinaryOp::Equal),
            ("!=", BinaryOp::NotEqual),
            ("<=", BinaryOp::LessOrEqual),
            (">=", BinaryOp::GreaterOrEqual),
            ("<", BinaryOp::Less),
            (">", BinaryOp::Greater),
        ];
        let left = self.additive()?;
        let Some(&(_, op)) = OPS.iter().find(|(symbol, _)| self.is_op(symbol)) else {
            return Ok(left);
        };
        self.advance();
        let right = self.additive()?;
        if OPS.iter().any(|(symbol, _)| self.is_op(symbol)) {
            return Err(error(
                self.span().start,
                "comparisons cannot be chained; join them with `and`, like `a < b and b < c`",
            ));
        }
        Ok(Self::binary(op, left, right))
    }

    fn additive(&mut self) -> Result<Node, SyntaxError> {
        self.chain(
            &[("+", BinaryOp::Add), ("-", BinaryOp::Subtract)],
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Result<Node, SyntaxError> {
        self.chain(
            &[("*", BinaryOp::Multiply), ("/", BinaryOp::Divide)],
            Self::unary,
        )
    }

    fn unary(&mut self) -> Result<Node, SyntaxError> {
        if !self.is_op("-") {
            return self.power();
        }
        let start = self.advance().1;
        self.enter()?;
        let operand = self.unary();
        self.depth -= 1;
        let operand = operand?;
        let span = start.to(operand.span);
        Ok(Node {
            expr: Expr::Unary(UnaryOp::Negate, Box::new(operand)),
            span,
        })
    }

    /// `a ^ b`, binding tighter than a minus on its left (`-2^2` is -4) and grouping to the
    /// right (`2^3^2` is 2^9), as in mathematics.
    fn power(&mut self) -> Result<Node, SyntaxError> {
        let base = self.primary()?;
        if !self.is_op("^") {
            return Ok(base);
        }
        self.advance();
        self.enter()?;
        let exponent = self.unary();
        self.depth -= 1;
        Ok(Self::binary(BinaryOp::Power, base, exponent?))
    }

    fn primary(&mut self) -> Result<Node, SyntaxError> {
        let (token, span) = self.advance();
        let expr = match token {
            Token::Number(n) => Expr::Number(n),
            Token::Word(word) if word == "true" => Expr::Bool(true),
            Token::Word(word) if word == "false" => Expr::Bool(false),
            Token::Word(word) if *self.peek() == Token::LeftParen => {
                return self.call(&word, span);
            }
            Token::Word(word) if matches!(word.as_str(), "and" | "or" | "not") => {
                return Err(error(
                    span.start,
                    format!(
                        "`{word}` cannot stand here (a `not` goes before a whole condition: `not (a > 1)`); an id named so goes in backticks"
                    ),
                ));
            }
            Token::Word(name) | Token::Quoted(name) => Expr::Name(name),
            Token::LeftParen => {
                let inner = self.expression()?;
                let end = self.expect(&Token::RightParen, "`)`")?;
                return Ok(Node {
                    expr: inner.expr,
                    span: span.to(end),
                });
            }
            other => {
                return Err(error(
                    span.start,
                    format!("expected a number, a name or `(`, found {other}"),
                ));
            }
        };
        Ok(Node { expr, span })
    }

    fn call(&mut self, name: &str, start: Span) -> Result<Node, SyntaxError> {
        let Some(function) = Function::parse(name) else {
            let known: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
            return Err(error(
                start.start,
                format!(
                    "there is no function `{name}`; the functions are {}",
                    known.join(", ")
                ),
            ));
        };
        self.advance(); // (
        self.enter()?;
        let mut arguments = Vec::new();
        if *self.peek() != Token::RightParen {
            loop {
                arguments.push(self.argument()?);
                if *self.peek() == Token::Comma {
                    self.advance();
                } else {
                    break;
                }
            }
        }
        let end = self.expect(&Token::RightParen, "`,` or `)`")?;
        self.depth -= 1;
        Ok(Node {
            expr: Expr::Call(function, arguments),
            span: start.to(end),
        })
    }

    /// An argument: an expression, or a range of questions `first:last`.
    fn argument(&mut self) -> Result<Node, SyntaxError> {
        let first = self.expression()?;
        if *self.peek() != Token::Colon {
            return Ok(first);
        }
        let colon = self.advance().1;
        let Expr::Name(from) = first.expr else {
            return Err(error(
                colon.start,
                "a range names two question ids, like `phq1:phq9`",
            ));
        };
        let (token, end) = self.advance();
        let (Token::Word(to) | Token::Quoted(to)) = token else {
            return Err(error(
                end.start,
                format!("a range names two question ids, like `phq1:phq9`; found {token}"),
            ));
        };
        Ok(Node {
            expr: Expr::Range(from, to),
            span: first.span.to(end),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(node: &Node) -> String {
        match &node.expr {
            Expr::Number(n) => format!("{n}"),
            Expr::Bool(b) => format!("{b}"),
            Expr::Name(name) => name.clone(),
            Expr::Unary(UnaryOp::Negate, operand) => format!("(-{})", shape(operand)),
            Expr::Unary(UnaryOp::Not, operand) => format!("(not {})", shape(operand)),
            Expr::Binary(op, left, right) => {
                format!("({} {} {})", shape(left), op.symbol(), shape(right))
            }
            Expr::Call(function, arguments) => {
                let arguments: Vec<String> = arguments.iter().map(shape).collect();
                format!("{function}({})", arguments.join(", "))
            }
            Expr::Range(from, to) => format!("{from}:{to}"),
        }
    }

    fn read(text: &str) -> String {
        shape(&parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    fn refused(text: &str) -> SyntaxError {
        parse(text).expect_err(text)
    }

    #[test]
    fn precedence_follows_mathematics() {
        assert_eq!(read("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(read("(1 + 2) * 3"), "((1 + 2) * 3)");
        assert_eq!(read("8 - 3 - 2"), "((8 - 3) - 2)");
        assert_eq!(read("8 / 4 / 2"), "((8 / 4) / 2)");
        assert_eq!(read("-2 ^ 2"), "(-(2 ^ 2))");
        assert_eq!(read("2 ^ 3 ^ 2"), "(2 ^ (3 ^ 2))");
        assert_eq!(read("2 ^ -1"), "(2 ^ (-1))");
        assert_eq!(read("a + 1 >= b * 2"), "((a + 1) >= (b * 2))");
        assert_eq!(
            read("a > 1 and b > 2 or not c == 3"),
            "(((a > 1) and (b > 2)) or (not (c == 3)))"
        );
        assert_eq!(
            read("a > 1 && b < 2 || !x"),
            "(((a > 1) and (b < 2)) or (not x))"
        );
    }

    #[test]
    fn names_calls_and_ranges() {
        assert_eq!(read("phq1 + `phq-2` + a.b_c"), "((phq1 + phq-2) + a.b_c)");
        assert_eq!(read("sum(phq1:phq9)"), "sum(phq1:phq9)");
        assert_eq!(
            read("if(answered(x), score(x), 0)"),
            "if(answered(x), score(x), 0)"
        );
        assert_eq!(read("count(a >= 2, b:`c-1`)"), "count((a >= 2), b:c-1)");
        assert_eq!(read("true == false"), "(true == false)");
        assert_eq!(read("round(2.5, 0)"), "round(2.5, 0)");
        assert_eq!(read("sum()"), "sum()");
    }

    #[test]
    fn syntax_errors_say_where() {
        let e = refused("1 + * 2");
        assert_eq!(e.position, 5, "{e}");
        assert!(e.message.contains("expected a number"), "{e}");
        assert_eq!(refused("sum(a, b").position, 9);
        assert_eq!(refused("(a + b").position, 7);
        let e = refused("a = 1");
        assert_eq!(
            (e.position, e.message.as_str()),
            (3, "compare with `==`, not `=`")
        );
        let e = refused("summa(a)");
        assert!(e.message.contains("no function `summa`"), "{e}");
        assert_eq!(refused("1 < a < 3").position, 7);
        assert_eq!(refused("a $ b").position, 3);
        assert_eq!(refused("`open").position, 1);
        assert_eq!(refused("a:b").position, 2);
        assert_eq!(refused("2x").position, 1);
        assert_eq!(refused("1 + not x").position, 5);
        assert_eq!(refused("a and").position, 6);
        assert_eq!(refused("1 2").position, 3);
        assert_eq!(refused("").position, 1);
        // Positions count characters, not bytes.
        assert_eq!(refused("`höjd` $").position, 8);
    }

    #[test]
    fn nesting_and_length_are_bounded() {
        let deep = format!(
            "{}1{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        assert!(refused(&deep).message.contains("nests deeper"));
        let long_chain = vec!["1"; MAX_DEPTH + 2].join(" + ");
        assert!(refused(&long_chain).message.contains("nests deeper"));
        let negations = format!("{}1", "-".repeat(MAX_DEPTH + 1));
        assert!(refused(&negations).message.contains("nests deeper"));
        let long = "1".repeat(MAX_LENGTH + 1);
        assert!(refused(&long).message.contains("characters long"));
        assert_eq!(
            read(&vec!["1"; MAX_DEPTH / 2].join(" + "))
                .matches('+')
                .count(),
            MAX_DEPTH / 2 - 1
        );
    }
}
