// S2S.g4 - the grammar of the .s2s language (ANTLR4); the AST builder in
// dsl/lib/ASTBuilder.cpp turns its parse trees into typed AST nodes.
//
// Statements need no separator: every statement starts with a keyword or an
// identifier, and no expression can continue with one, so `a = 1 b = 2` and
// `a = 1; b = 2` and two lines parse alike. `;` is accepted as a separator.
grammar S2S;

// ---------------------------------------------------------------- top level

spec        : (importDecl | topDecl)* EOF ;

importDecl  : IMPORT STRING ';'? ;

topDecl     : dataDecl
            | modelInstance
            | modelDef
            | externDecl
            | enumDecl
            | sectionDecl
            | letDecl
            ;

// `data era5 { source = hdf5(...) ... }`
dataDecl    : DATA name=ident '{' entry* '}' ;

// `model net = AFNONet(channels = 7, ...)`
modelInstance : MODEL name=ident '=' call ';'? ;

// `model AFNONet(channels: int, ...) { ... }` and `block Mlp(...) { ... }`
modelDef    : kind=(MODEL | BLOCK) name=ident '(' paramList? ')' '{' modelItem* '}' ;

// `extern layer linear(x: tensor, out: int, bias: bool = true) -> tensor`
externDecl  : EXTERN kind=ident name=ident '(' paramList? ')' ('->' type)? ';'? ;

// `enum precision { fp32, bf16, fp16 }`
enumDecl    : ENUM name=ident '{' ident (',' ident)* ','? '}' ;

// `rollout { ... }`, `parallel { ... }`, `train { ... }`
sectionDecl : kind=(ROLLOUT | PARALLEL | TRAIN) '{' entry* '}' ;

// `let grid = [720, 1440]`
letDecl     : LET name=ident (':' type)? '=' expr ';'? ;

entry       : key=ident '=' expr ';'? ;

// ------------------------------------------------------- model definitions

paramList   : param (',' param)* ','? ;
param       : name=ident ':' type ('=' expr)? ;

modelItem   : letDecl
            | paramDecl
            | forwardDef
            ;

// `param pos: tensor[1, tokens, embed] = normal(std = 0.02)`
paramDecl   : PARAM name=ident ':' type ('=' expr)? ';'? ;

// `forward(x: tensor[B, channels, H, W]) -> tensor { ... }`
forwardDef  : FORWARD '(' paramList? ')' ('->' type)? block ;

block       : '{' stmt* '}' ;

// A tuple target needs `let`: a statement starting with `(` would read as a
// call of the previous line's last expression.
stmt        : LET target '=' expr ';'?                          # letStmt
            | name=ident '=' expr ';'?                          # assignStmt
            | REPEAT count=expr (AS var=ident)? block ';'?      # repeatStmt
            | RETURN expr ';'?                                  # returnStmt
            ;

// `h = ...` or `(a, b) = ...`
target      : ident
            | '(' ident (',' ident)+ ')'
            ;

// ------------------------------------------------------------------- types

// `int`, `float`, `list<int>`, `int[2]`, `tensor`, `tensor[B, C, H, W]`
type        : name=ident ('<' type (',' type)* '>')? ('[' dimList? ']')? ;
dimList     : dim (',' dim)* ;
dim         : '?'                                               # anyDim
            | expr                                              # exprDim
            ;

// ------------------------------------------------------------- expressions

// Alternatives bind tighter the earlier they stand: `-a * b` is `(-a) * b`
// and `0..n - 1` is `0..(n - 1)`.
expr        : '-' expr                                          # negExpr
            | expr op=('*' | '/' | '%') expr                    # mulExpr
            | expr op=('+' | '-') expr                          # addExpr
            | lhs=expr '..' rhs=expr                            # rangeExpr
            | postfix                                           # postfixExpr
            ;

postfix     : primary suffix* ;
suffix      : '(' argList? ')'                                  # callSuffix
            | '[' expr ']'                                      # indexSuffix
            | '.' ident                                         # memberSuffix
            ;

call        : callee=ident '(' argList? ')' ;

argList     : arg (',' arg)* ','? ;
arg         : (name=ident '=')? expr ;

primary     : INT                                               # intLit
            | FLOAT                                             # floatLit
            | QUANTITY                                          # quantityLit
            | STRING                                            # stringLit
            | (TRUE | FALSE)                                    # boolLit
            | NONE                                              # noneLit
            | ident                                             # nameRef
            | '[' (expr (',' expr)* ','?)? ']'                  # listLit
            | '[' recordField (',' recordField)* ','? ']'       # keyedListLit
            | '{' (recordField (',' recordField)* ','?)? '}'    # recordLit
            | '(' expr ',' (expr (',' expr)* ','?)? ')'         # tupleLit
            | '(' expr ')'                                      # parenExpr
            ;

recordField : key=ident ':' expr ;

// Keywords that only open a declaration may also serve as names, so that
// `mesh = [data: 8, tensor: 4]` and `split = { train: 1979..2015 }` read as
// written. `import let repeat return true false none` stay reserved.
ident       : IDENT | DATA | MODEL | BLOCK | EXTERN | ENUM | ROLLOUT
            | PARALLEL | TRAIN | PARAM | FORWARD | AS
            ;

// ------------------------------------------------------------------ tokens

IMPORT   : 'import' ;
DATA     : 'data' ;
MODEL    : 'model' ;
BLOCK    : 'block' ;
EXTERN   : 'extern' ;
ENUM     : 'enum' ;
ROLLOUT  : 'rollout' ;
PARALLEL : 'parallel' ;
TRAIN    : 'train' ;
LET      : 'let' ;
PARAM    : 'param' ;
FORWARD  : 'forward' ;
REPEAT   : 'repeat' ;
AS       : 'as' ;
RETURN   : 'return' ;
TRUE     : 'true' ;
FALSE    : 'false' ;
NONE     : 'none' ;

// A number written straight before a unit: `6h`, `1.5d`, `512MiB`, `1e3s`.
QUANTITY : DIGITS ('.' DIGITS)? EXPONENT? [a-zA-Z]+ ;
FLOAT    : DIGITS '.' DIGITS EXPONENT?
         | DIGITS EXPONENT
         ;
INT      : DIGITS ;
STRING   : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
IDENT    : [a-zA-Z_] [a-zA-Z_0-9]* ;

LINE_COMMENT  : '//' ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
WS            : [ \t\r\n\f]+ -> skip ;

// Anything else becomes one token the parser rejects with a clear message.
UNKNOWN_CHAR  : . ;

fragment DIGITS   : [0-9]+ ('_' [0-9]+)* ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;
