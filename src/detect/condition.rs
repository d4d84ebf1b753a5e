//! Argo Rollouts' `successCondition` / `failureCondition`: a small subset of the expr
//! language (github.com/expr-lang/expr) evaluated over one measurement, `result[0]`.
//!
//! Supported: numbers, `true`/`false`, `result[0]`, `isNaN(x)`, `isInf(x)`, unary `-`,
//! `+ - * /`, comparisons `< <= > >= == !=`, `&&`/`and`, `||`/`or`, `!`/`not` and
//! parentheses. Comparisons follow IEEE 754 as Go does: any comparison with NaN is false
//! except `!=`. Anything else is refused when the scenario is read.

use std::fmt;

/// A parsed condition; it evaluates to true or false for one measured value.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    text: String,
    root: Node,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(f64),
    Bool(bool),
    Result,
    IsNaN(Box<Node>),
    IsInf(Box<Node>),
    Neg(Box<Node>),
    Not(Box<Node>),
    Arith(Op, Box<Node>, Box<Node>),
    Cmp(Op, Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Type {
    Num,
    Bool,
}

/// Why a condition cannot be read: the message names the part it stopped at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError(pub String);

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Condition {
    /// Parses `text`; it must be a boolean expression over `result[0]`.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let tokens = lex(text)?;
        let mut p = Parser { tokens, at: 0 };
        let root = p.or()?;
        if let Some(t) = p.tokens.get(p.at) {
            return Err(ConditionError(format!("unexpected `{t}`")));
        }
        if type_of(&root)? != Type::Bool {
            return Err(ConditionError(
                "the condition is a number, not true or false; compare it, e.g. `result[0] >= 0.95`"
                    .into(),
            ));
        }
        Ok(Condition {
            text: text.to_string(),
            root,
        })
    }

    /// The condition as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the condition holds for a measured `result[0]`.
    pub fn holds(&self, result: f64) -> bool {
        bool_of(&self.root, result)
    }
}

fn num_of(n: &Node, r: f64) -> f64 {
    match n {
        Node::Num(x) => *x,
        Node::Result => r,
        Node::Neg(a) => -num_of(a, r),
        Node::Arith(op, a, b) => {
            let (a, b) = (num_of(a, r), num_of(b, r));
            match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                Op::Mul => a * b,
                _ => a / b,
            }
        }
        _ => unreachable!("type-checked when parsed"),
    }
}

fn bool_of(n: &Node, r: f64) -> bool {
    match n {
        Node::Bool(b) => *b,
        Node::IsNaN(a) => num_of(a, r).is_nan(),
        Node::IsInf(a) => num_of(a, r).is_infinite(),
        Node::Not(a) => !bool_of(a, r),
        Node::And(a, b) => bool_of(a, r) && bool_of(b, r),
        Node::Or(a, b) => bool_of(a, r) || bool_of(b, r),
        Node::Cmp(op, a, b) => {
            let (a, b) = (num_of(a, r), num_of(b, r));
            match op {
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Eq => a == b,
                _ => a != b,
            }
        }
        _ => unreachable!("type-checked when parsed"),
    }
}

fn type_of(n: &Node) -> Result<Type, ConditionError> {
    let want = |n: &Node, t: Type, what: &str| -> Result<(), ConditionError> {
        if type_of(n)? == t {
            Ok(())
        } else {
            Err(ConditionError(format!(
                "{what} needs {}",
                match t {
                    Type::Num => "numbers",
                    Type::Bool => "true/false operands",
                }
            )))
        }
    };
    Ok(match n {
        Node::Num(_) | Node::Result => Type::Num,
        Node::Bool(_) => Type::Bool,
        Node::IsNaN(a) | Node::IsInf(a) => {
            want(a, Type::Num, "isNaN/isInf")?;
            Type::Bool
        }
        Node::Neg(a) => {
            want(a, Type::Num, "`-`")?;
            Type::Num
        }
        Node::Not(a) => {
            want(a, Type::Bool, "`!`")?;
            Type::Bool
        }
        Node::Arith(_, a, b) => {
            want(a, Type::Num, "arithmetic")?;
            want(b, Type::Num, "arithmetic")?;
            Type::Num
        }
        Node::Cmp(_, a, b) => {
            want(a, Type::Num, "a comparison")?;
            want(b, Type::Num, "a comparison")?;
            Type::Bool
        }
        Node::And(a, b) | Node::Or(a, b) => {
            want(a, Type::Bool, "`&&`/`||`")?;
            want(b, Type::Bool, "`&&`/`||`")?;
            Type::Bool
        }
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Num(f64),
    Ident(String),
    Sym(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Num(x) => write!(f, "{x}"),
            Token::Ident(s) => f.write_str(s),
            Token::Sym(s) => f.write_str(s),
        }
    }
}

const SYMBOLS: [&str; 17] = [
    "&&", "||", "<=", ">=", "==", "!=", "<", ">", "!", "(", ")", "[", "]", "+", "-", "*", "/",
];

fn lex(text: &str) -> Result<Vec<Token>, ConditionError> {
    let mut tokens = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let c = rest.chars().next().unwrap_or(' ');
        if c.is_ascii_digit() || c == '.' {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
                .unwrap_or(rest.len());
            let number = &rest[..end];
            let x = number
                .parse::<f64>()
                .map_err(|_| ConditionError(format!("`{number}` is not a number")))?;
            tokens.push(Token::Num(x));
            rest = &rest[end..];
        } else if c.is_ascii_alphabetic() || c == '_' {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            tokens.push(Token::Ident(rest[..end].to_string()));
            rest = &rest[end..];
        } else if let Some(s) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) {
            tokens.push(Token::Sym(s));
            rest = &rest[s.len()..];
        } else {
            return Err(ConditionError(format!("`{c}` is not supported")));
        }
        rest = rest.trim_start();
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn eat_sym(&mut self, sym: &str) -> bool {
        let hit = matches!(self.peek(), Some(Token::Sym(s)) if *s == sym);
        self.at += usize::from(hit);
        hit
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let hit = matches!(self.peek(), Some(Token::Ident(s)) if s == word);
        self.at += usize::from(hit);
        hit
    }

    fn expect(&mut self, sym: &str) -> Result<(), ConditionError> {
        if self.eat_sym(sym) {
            return Ok(());
        }
        Err(ConditionError(match self.peek() {
            Some(t) => format!("expected `{sym}`, found `{t}`"),
            None => format!("expected `{sym}` at the end"),
        }))
    }

    fn or(&mut self) -> Result<Node, ConditionError> {
        let mut left = self.and()?;
        while self.eat_sym("||") || self.eat_word("or") {
            left = Node::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, ConditionError> {
        let mut left = self.not()?;
        while self.eat_sym("&&") || self.eat_word("and") {
            left = Node::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Node, ConditionError> {
        if self.eat_sym("!") || self.eat_word("not") {
            return Ok(Node::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Node, ConditionError> {
        let left = self.sum()?;
        let ops = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ];
        for (sym, op) in ops {
            if self.eat_sym(sym) {
                return Ok(Node::Cmp(op, Box::new(left), Box::new(self.sum()?)));
            }
        }
        Ok(left)
    }

    fn sum(&mut self) -> Result<Node, ConditionError> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat_sym("+") {
                Op::Add
            } else if self.eat_sym("-") {
                Op::Sub
            } else {
                return Ok(left);
            };
            left = Node::Arith(op, Box::new(left), Box::new(self.product()?));
        }
    }

    fn product(&mut self) -> Result<Node, ConditionError> {
        let mut left = self.unary()?;
        loop {
            let op = if self.eat_sym("*") {
                Op::Mul
            } else if self.eat_sym("/") {
                Op::Div
            } else {
                return Ok(left);
            };
            left = Node::Arith(op, Box::new(left), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Node, ConditionError> {
        if self.eat_sym("-") {
            return Ok(Node::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Node, ConditionError> {
        let token = self.peek().cloned();
        self.at += 1;
        match token {
            Some(Token::Num(x)) => Ok(Node::Num(x)),
            Some(Token::Sym("(")) => {
                let inner = self.or()?;
                self.expect(")")?;
                Ok(inner)
            }
            Some(Token::Ident(word)) => match word.as_str() {
                "true" => Ok(Node::Bool(true)),
                "false" => Ok(Node::Bool(false)),
                "result" => {
                    if self.eat_sym("[") && matches!(self.peek(), Some(Token::Num(x)) if *x == 0.0)
                    {
                        self.at += 1;
                        self.expect("]")?;
                        return Ok(Node::Result);
                    }
                    Err(ConditionError(
                        "only `result[0]`, the measured value, is supported".into(),
                    ))
                }
                "isNaN" | "isInf" => {
                    self.expect("(")?;
                    let inner = Box::new(self.or()?);
                    self.expect(")")?;
                    Ok(if word == "isNaN" {
                        Node::IsNaN(inner)
                    } else {
                        Node::IsInf(inner)
                    })
                }
                _ => Err(ConditionError(format!(
                    "`{word}` is not supported; expected result[0], numbers, isNaN, isInf, comparisons, arithmetic, &&, || and !"
                ))),
            },
            Some(t) => Err(ConditionError(format!("unexpected `{t}`"))),
            None => Err(ConditionError("the condition ends too early".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(text: &str, r: f64) -> bool {
        Condition::parse(text).unwrap().holds(r)
    }

    #[test]
    fn the_argo_docs_conditions_evaluate_as_expr_does() {
        assert!(holds("result[0] >= 0.95", 0.95));
        assert!(!holds("result[0] >= 0.95", 0.949));
        assert!(holds("result[0] < 0.05 && result[0] >= 0", 0.01));
        assert!(holds("isNaN(result[0]) || result[0] >= 0.95", f64::NAN));
        assert!(holds("result[0] * 100 > 90 and not (result[0] > 1)", 0.95));
        assert!(holds("-result[0] + 1 == 0.5", 0.5));
        assert!(holds("isInf(result[0] / 0)", 1.0));
    }

    #[test]
    fn nan_compares_false_except_not_equal() {
        for text in ["result[0] >= 0.95", "result[0] < 0.95", "result[0] == 1"] {
            assert!(!holds(text, f64::NAN), "{text}");
        }
        assert!(holds("result[0] != 1", f64::NAN));
    }

    #[test]
    fn unsupported_or_ill_typed_expressions_are_refused_with_what_stopped_them() {
        let err = |t: &str| Condition::parse(t).unwrap_err().0;
        assert!(err("len(result) > 0").contains("`len` is not supported"));
        assert!(err("result[1] > 0").contains("only `result[0]`"));
        assert!(err("result[0]").contains("is a number"));
        assert!(err("result[0] > 1 +").contains("ends too early"));
        assert!(err("result[0] >= 0.9 && 3").contains("true/false"));
        assert!(err("result[0] > 'a'").contains("`'` is not supported"));
        assert!(err("(result[0] > 1").contains("expected `)`"));
    }
}
