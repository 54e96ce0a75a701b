"""Per-language knowledge, kept as data: detection, definition node types, lizard's condition tokens.

Each `LanguageSpec` names tree-sitter node types and tokens; `_queries.py` turns them into compiled
queries (names missing from a grammar are dropped there, so the generic tables below can be shared).

Complexity follows lizard (`lizard_languages/*.py`, lizard 1.24): a function's cyclomatic complexity is
1 + the number of condition tokens inside it (`conditions`), plus per-language extras (`arms`: Rust counts
every match arm after the first; `extra`: raw query patterns whose `@cond` captures add one each).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter_language_pack import SupportedLanguage

# lizard's CodeReader defaults: if/for/while/catch, &&/||, case, ?
CLIKE = frozenset({"if", "for", "while", "catch", "case", "&&", "||", "?"})

# Named node types that open a nesting level (cognitive complexity, max nesting depth). Shared by all
# languages; names a grammar does not have are ignored.
NESTING_TYPES = frozenset(
    {
        "if_statement", "if_expression", "if", "unless", "if_modifier", "unless_modifier",
        "conditional_statement", "if_else_expr", "conditional", "if_expr", "IfStatement", "IfExpr",
        "for_statement", "for_in_statement", "for_expression", "enhanced_for_statement",
        "foreach_statement", "for_each_statement", "for_range_loop", "for", "until", "while",
        "while_statement", "while_expression", "do_statement", "do_while_statement", "loop_expression",
        "repeat_statement", "loop_statement", "cstyle_for_statement", "c_style_for_statement",
        "until_statement", "ForStatement", "WhileStatement", "LoopStatement", "for_clause",
        "switch_statement", "switch_expression", "match_expression", "match_statement", "case_statement",
        "case", "when_expression", "case_expr", "case_of_expr", "select_statement", "expression_switch_statement",
        "type_switch_statement", "SwitchExpr", "receive_expr", "if_expression_ocaml",
        "catch_clause", "except_clause", "rescue", "catch_block", "try_expression_ocaml",
        "conditional_expression", "ternary_expression", "guard_statement",
    }
)  # fmt: skip
# Named node types for else / else-if branches: +1 each in cognitive complexity, no nesting penalty.
ELSE_TYPES = frozenset(
    {"else_clause", "elif_clause", "else", "elsif", "else_if_clause", "elseif_statement",
     "else_statement", "elseif_clause", "else_branch"}
)  # fmt: skip
LOGICAL_TOKENS = frozenset({"&&", "||", "and", "or", "??", "orelse", "andalso", "?:"})
COMMENT_TYPES = frozenset(
    {"comment", "line_comment", "block_comment", "doc_comment", "multiline_comment", "pod",
     "module_comment", "statement_comment", "comment_block"}
)  # fmt: skip
IMPORT_TYPES = frozenset(
    {"import_statement", "import_from_statement", "future_import_statement", "import_declaration",
     "use_declaration", "preproc_include", "using_directive", "import_header", "import",
     "namespace_use_declaration", "import_clause", "open_module", "import_or_export", "use_statement",
     "using_statement", "import_spec", "extern_crate_declaration", "module_import", "require_call"}
)  # fmt: skip
# Node types whose text is a name.
NAME_TYPES = frozenset(
    {"identifier", "type_identifier", "field_identifier", "property_identifier", "simple_identifier",
     "constant", "name", "word", "atom", "variable", "bareword", "lower_case_identifier",
     "upper_case_identifier", "value_name", "module_name", "class_name", "sym_name", "IDENTIFIER",
     "destructor_name", "operator_name", "qualified_identifier", "scoped_identifier", "alias",
     "private_property_identifier", "namespace_identifier", "constructor", "setter", "type_name",
     "method_name", "command_name"}
)  # fmt: skip
# When a definition has no name of its own (`const f = () => …`, `f <- function(x) …`), its name is
# the left-hand side of the assignment it sits in: parent type -> field holding that side.
ASSIGNMENT_NAME_FIELDS: Mapping[str, tuple[str, ...]] = {
    "variable_declarator": ("name",),
    "assignment_expression": ("left",),
    "assignment": ("left", "lhs"),
    "pair": ("key",),
    "public_field_definition": ("name", "property"),
    "field_definition": ("property", "name"),
    "binary_operator": ("lhs",),
    "left_assignment": ("name",),
    "short_var_declaration": ("left",),
    "variable_declaration": ("name",),
    "local_variable_declaration": ("name",),
    "field": ("name",),
    "assignment_statement": ("variable_list", "left"),
}


@dataclass(frozen=True, slots=True)
class LanguageSpec:
    """What the engine needs to know about one language."""

    name: str
    grammar: SupportedLanguage
    extensions: tuple[str, ...] = ()
    filenames: tuple[str, ...] = ()
    shebangs: tuple[str, ...] = ()
    # node type -> kind ("function", "method", "class", "struct", …). A kind of "function" becomes
    # "method" when the definition sits inside a class-like one.
    definitions: Mapping[str, str] = field(default_factory=dict)
    # node type -> field that must be present (e.g. C `struct_specifier` only with a body)
    requires: Mapping[str, str] = field(default_factory=dict)
    # node type -> child type whose presence is required (Zig `Decl` holding an `FnProto`)
    requires_child: Mapping[str, str] = field(default_factory=dict)
    # How to find a definition's name: paths tried in order. A path is "/"-separated steps; a step is a
    # field name, "@type" (first named child of that type), and a trailing "*" repeats it.
    name_paths: tuple[str, ...] = ("name",)
    # function-like node types that lizard treats as separate functions although they may be anonymous
    # (JS arrow functions); named from the assignment they sit in, else "(anonymous)".
    anonymous: frozenset[str] = frozenset()
    # Raw query for definitions the node types cannot express: `@def` the node, `@name`, `@head` the
    # keyword whose text is looked up in `head_kinds` (Elixir `def`, Clojure `defn`).
    definition_query: str = ""
    head_kinds: Mapping[str, str] = field(default_factory=dict)
    # definition type -> sibling type that holds its body (Dart `function_signature` + `function_body`)
    body_sibling: Mapping[str, str] = field(default_factory=dict)
    conditions: frozenset[str] = CLIKE
    arms: tuple[tuple[str, str], ...] = ()  # (container, arm): +1 per arm, -1 per container
    extra: str = ""  # raw query; each `@cond` capture adds 1
    parameter_fields: tuple[str, ...] = ("parameters",)
    doc_style: str | None = None  # "docstring" | "comment_before"
    public_rule: str | None = None  # "no_underscore" | "capitalized" | "pub" | "public"
    comment_query: str = ""  # raw query: more `@comment` captures (Python docstrings, as radon counts)
    markup: bool = False  # metrics only: no definitions, no complexity
    nested_functions: bool = True  # False: a function inside a function is a misparse (C), not a definition
    receiver: str = ""  # field naming a method's receiver (Go): its type qualifies the name
    merge_clauses: bool = False  # adjacent same-name definitions are clauses of one function (Erlang)


_JS_DEFS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "method_definition": "method",
    "class_declaration": "class",
}
_JS_ANON = frozenset({"arrow_function", "function_expression", "generator_function", "function"})
_JS_CONDITIONS = CLIKE | {"??"}
_TS_DEFS = {
    **_JS_DEFS,
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "enum_declaration": "enum",
    "internal_module": "module",
    "type_alias_declaration": "type",
    # overload and interface signatures: declarations without a body (lizard lists them as functions)
    "function_signature": "function",
    "method_signature": "method",
    "abstract_method_signature": "method",
}
_C_NAME = ("declarator*", "name")
# Unterminated macros (`Py_BEGIN_ALLOW_THREADS`) make tree-sitter read `if (x) {…}` as a nested function
# named `if`: C has no nested functions, so those are dropped and keyword-named identifiers still count.
_C_CONDITIONS = CLIKE | {"#if", "#ifdef", "#elif"}  # lizard counts these directives (not #ifndef)
_C_KEYWORD_IDENTIFIERS = '((identifier) @cond (#any-of? @cond "if" "for" "while" "case" "catch"))'

_CPP_DEFS = {
    "function_definition": "function",
    "class_specifier": "class",
    "struct_specifier": "struct",
    "union_specifier": "struct",
    "enum_specifier": "enum",
    "namespace_definition": "namespace",
}

# Metrics-only languages: (name, grammar, extensions, filenames).
_MARKUP_ROWS: tuple[tuple[str, SupportedLanguage, tuple[str, ...], tuple[str, ...]], ...] = (
    ("json", "json", ("json", "jsonc", "json5"), (".babelrc", ".eslintrc")),
    ("yaml", "yaml", ("yaml", "yml"), (".clang-format",)),
    ("toml", "toml", ("toml",), ("Cargo.lock", "poetry.lock", "Pipfile")),
    ("markdown", "markdown", ("md", "markdown", "mdx"), ()),
    ("html", "html", ("html", "htm", "xhtml"), ()),
    ("css", "css", ("css",), ()),
    ("scss", "scss", ("scss",), ()),
    ("xml", "xml", ("xml", "xsd", "xsl", "svg", "plist", "csproj"), ()),
    ("sql", "sql", ("sql",), ()),
    ("dockerfile", "dockerfile", ("dockerfile",), ("Dockerfile", "Containerfile")),
    ("make", "make", ("mk", "mak"), ("Makefile", "makefile", "GNUmakefile")),
    ("cmake", "cmake", ("cmake",), ("CMakeLists.txt",)),
    ("hcl", "hcl", ("hcl", "tf", "tfvars"), ()),
    ("ini", "ini", ("ini", "cfg", "conf"), (".editorconfig", ".gitconfig")),
    ("rst", "rst", ("rst",), ()),
)  # fmt: skip

SPECS: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        "python", "python", ("py", "pyi", "pyw"), ("SConstruct", "SConscript"), ("python", "python3"),
        definitions={"function_definition": "function", "class_definition": "class"},
        conditions=frozenset({"if", "elif", "for", "while", "except", "finally", "and", "or", "case"}),
        doc_style="docstring", public_rule="no_underscore",
        comment_query="(block (string) @comment) (module (string) @comment)",  # docstrings: comment lines
    ),
    LanguageSpec(
        "javascript", "javascript", ("js", "mjs", "cjs", "jsx"), (), ("node", "nodejs", "deno", "bun"),
        definitions=_JS_DEFS, anonymous=_JS_ANON, conditions=_JS_CONDITIONS,
    ),
    LanguageSpec("typescript", "typescript", ("ts", "mts", "cts"), definitions=_TS_DEFS,
                 anonymous=_JS_ANON, conditions=_JS_CONDITIONS),
    LanguageSpec("tsx", "tsx", ("tsx",), definitions=_TS_DEFS, anonymous=_JS_ANON, conditions=_JS_CONDITIONS),
    LanguageSpec(
        "go", "go", ("go",),
        definitions={"function_declaration": "function", "method_declaration": "method", "type_spec": "type"},
        anonymous=frozenset({"func_literal"}), doc_style="comment_before", public_rule="capitalized",
        receiver="receiver",
    ),
    LanguageSpec(
        "rust", "rust", ("rs",),
        definitions={"function_item": "function", "impl_item": "impl", "trait_item": "trait",
                     "struct_item": "struct", "enum_item": "enum", "mod_item": "module",
                     "union_item": "struct", "macro_definition": "macro"},
        requires={"mod_item": "body"},
        name_paths=("name", "type"),
        conditions=frozenset({"if", "for", "while", "where", "&&", "||", "?"}),
        arms=(("match_block", "match_arm"),),
        doc_style="comment_before", public_rule="pub",
    ),
    LanguageSpec(
        "java", "java", ("java",),
        definitions={"method_declaration": "method", "constructor_declaration": "constructor",
                     "compact_constructor_declaration": "constructor", "class_declaration": "class",
                     "interface_declaration": "interface", "enum_declaration": "enum",
                     "record_declaration": "record", "annotation_type_declaration": "interface"},
        doc_style="comment_before", public_rule="public",
    ),
    LanguageSpec(
        "c", "c", ("c", "h"),
        definitions={"function_definition": "function", "struct_specifier": "struct",
                     "union_specifier": "struct", "enum_specifier": "enum"},
        requires={"struct_specifier": "body", "union_specifier": "body", "enum_specifier": "body"},
        name_paths=_C_NAME,
        conditions=_C_CONDITIONS,
        extra=_C_KEYWORD_IDENTIFIERS,
        nested_functions=False,
    ),
    LanguageSpec(
        "cpp", "cpp", ("cpp", "cc", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp", "tpp", "cu", "cuh"),
        definitions=_CPP_DEFS,
        requires={"class_specifier": "body", "struct_specifier": "body", "union_specifier": "body",
                  "enum_specifier": "body", "namespace_definition": "body"},
        name_paths=_C_NAME,
        conditions=_C_CONDITIONS,
        extra=_C_KEYWORD_IDENTIFIERS,
        nested_functions=False,
    ),
    LanguageSpec(
        "csharp", "csharp", ("cs", "csx"),
        definitions={"method_declaration": "method", "constructor_declaration": "constructor",
                     "destructor_declaration": "method", "local_function_statement": "function",
                     "operator_declaration": "method", "class_declaration": "class",
                     "struct_declaration": "struct", "interface_declaration": "interface",
                     "enum_declaration": "enum", "record_declaration": "record",
                     "namespace_declaration": "namespace"},
        conditions=CLIKE | {"??"},
    ),
    LanguageSpec(
        "ruby", "ruby", ("rb", "rake", "gemspec", "ru"), ("Rakefile", "Gemfile", "Vagrantfile"), ("ruby",),
        definitions={"method": "function", "singleton_method": "function", "class": "class",
                     "module": "module", "singleton_class": "class"},
        conditions=frozenset({"if", "elsif", "until", "for", "while", "rescue", "ensure", "when",
                              "and", "or", "&&", "||", "?"}),
    ),
    LanguageSpec(
        "php", "php", ("php", "phtml", "php5", "php7", "php8"), (), ("php",),
        definitions={"function_definition": "function", "method_declaration": "method",
                     "class_declaration": "class", "interface_declaration": "interface",
                     "trait_declaration": "trait", "enum_declaration": "enum"},
        conditions=CLIKE | {"elseif", "foreach", "match"},
    ),
    LanguageSpec(
        "kotlin", "kotlin", ("kt", "kts"),
        definitions={"function_declaration": "function", "class_declaration": "class",
                     "object_declaration": "object", "secondary_constructor": "constructor"},
        name_paths=("name", "@simple_identifier", "@type_identifier"),
        conditions=frozenset({"if", "for", "while", "catch", "&&", "||", "?:"}),
    ),
    LanguageSpec(
        "swift", "swift", ("swift",),
        definitions={"function_declaration": "function", "class_declaration": "class",
                     "protocol_declaration": "protocol", "init_declaration": "constructor",
                     "deinit_declaration": "method", "protocol_function_declaration": "method"},
        conditions=(CLIKE - {"?"}) | {"guard"},  # lizard ignores the `?` of optional types
        extra='(ternary_expression "?" @cond)',
    ),
    LanguageSpec(
        "scala", "scala", ("scala", "sc", "sbt"),
        definitions={"function_definition": "function", "class_definition": "class",
                     "object_definition": "object", "trait_definition": "trait", "enum_definition": "enum"},
        conditions=CLIKE | {"do"},
    ),
    LanguageSpec(
        "lua", "lua", ("lua",), (), ("lua", "luajit"),
        definitions={"function_declaration": "function"},
        anonymous=frozenset({"function_definition"}),
        conditions=frozenset({"if", "elseif", "for", "while", "until", "and", "or"}),
    ),
    LanguageSpec(
        "bash", "bash", ("sh", "bash", "zsh", "ksh"), (".bashrc", ".bash_profile", ".zshrc", ".profile"),
        ("sh", "bash", "zsh", "ksh", "dash"),
        definitions={"function_definition": "function"},
        conditions=frozenset({"if", "elif", "for", "while", "until", "case", "&&", "||"}),
    ),
    LanguageSpec(
        "elixir", "elixir", ("ex", "exs"), ("mix.lock",), ("elixir",),
        definition_query=(
            '(call target: (identifier) @head (#any-of? @head "def" "defp" "defmacro" "defmacrop"'
            ' "defmodule" "defprotocol" "defimpl" "defguard") (arguments . (_) @name)) @def'
        ),
        head_kinds={"def": "function", "defp": "function", "defmacro": "macro", "defmacrop": "macro",
                    "defguard": "macro", "defmodule": "module", "defprotocol": "protocol",
                    "defimpl": "impl"},
        conditions=frozenset({"and", "or", "&&", "||", "when"}),
        extra=(
            '(call target: (identifier) @cond (#any-of? @cond "if" "unless" "for" "while"))\n'
            '(call target: (identifier) @_c (#any-of? @_c "case" "cond" "receive" "with" "try")'
            " (do_block (stab_clause) @cond))\n"
        ),
        doc_style=None,
    ),
    LanguageSpec(
        "erlang", "erlang", ("erl", "hrl", "es", "escript"), ("rebar.config",), ("escript",),
        definitions={"fun_decl": "function", "module_attribute": "module", "record_decl": "record"},
        name_paths=("name", "@function_clause/name"),
        merge_clauses=True,
        conditions=frozenset({"if", "case", "catch", "when", "and", "or", "andalso", "orelse"}),
    ),
    LanguageSpec(
        "haskell", "haskell", ("hs", "lhs"), (), ("runhaskell", "stack"),
        definitions={"function": "function", "class": "class", "instance": "instance",
                     "data_type": "type", "newtype": "type", "type_synomym": "type"},
        requires={"function": "name"},  # not the `a -> b` function type
        merge_clauses=True,
        conditions=frozenset({"if", "&&", "||"}),
        arms=(("alternatives", "alternative"),),
        extra="(guards) @cond",
    ),
    LanguageSpec(
        "ocaml", "ocaml", ("ml", "mli"), (), ("ocaml",),
        definitions={"let_binding": "function", "module_binding": "module", "class_binding": "class",
                     "type_binding": "type", "method_definition": "method"},
        name_paths=("pattern", "name", "@module_name", "@class_name", "@type_constructor", "@method_name"),
        conditions=frozenset({"if", "while", "for", "when", "&&", "||"}),
        arms=(("match_expression", "match_case"), ("function_expression", "match_case")),
    ),
    LanguageSpec(
        "zig", "zig", ("zig", "zon"),
        definitions={"Decl": "function"},
        requires_child={"Decl": "FnProto"},
        name_paths=("@FnProto/function",),
        conditions=frozenset({"if", "for", "while", "try", "catch", "and", "or", "orelse", "=>"}),
    ),
    LanguageSpec(
        "dart", "dart", ("dart",),
        definitions={"function_signature": "function", "getter_signature": "function",
                     "setter_signature": "function", "constructor_signature": "constructor",
                     "factory_constructor_signature": "constructor", "class_definition": "class",
                     "mixin_declaration": "class", "extension_declaration": "extension",
                     "enum_declaration": "enum"},
        body_sibling={"function_signature": "function_body", "getter_signature": "function_body",
                      "setter_signature": "function_body", "constructor_signature": "function_body",
                      "factory_constructor_signature": "function_body"},
        conditions=CLIKE | {"??"},
    ),
    LanguageSpec(
        "r", "r", ("r", "R", "rmd"), (".Rprofile",), ("Rscript",),
        anonymous=frozenset({"function_definition"}),
        conditions=frozenset({"if", "for", "while", "repeat", "&&", "||", "&", "|"}),
        extra='(call function: (identifier) @cond (#any-of? @cond "switch" "ifelse" "tryCatch" "try"))',
    ),
    LanguageSpec(
        "julia", "julia", ("jl",), (), ("julia",),
        definitions={"function_definition": "function", "macro_definition": "macro",
                     "module_definition": "module", "struct_definition": "struct",
                     "abstract_definition": "type"},
        name_paths=("name", "@signature/@call_expression/@identifier", "@signature/@identifier",
                    "@identifier", "@type_head/@identifier"),
        conditions=frozenset({"if", "elseif", "for", "while", "catch", "?"}),
        extra='(binary_expression (operator) @cond (#any-of? @cond "&&" "||"))',
    ),
    LanguageSpec(
        "perl", "perl", ("pl", "pm", "t", "psgi"), (), ("perl",),
        definitions={"subroutine_declaration_statement": "function", "method_declaration_statement": "method",
                     "package_statement": "package", "class_statement": "class"},
        requires={"package_statement": "block"},
        conditions=frozenset({"if", "elsif", "unless", "while", "until", "for", "foreach", "given", "when",
                              "default", "do", "&&", "||", "?"}),
        extra='(conditional_expression ":" @cond)',
    ),
    LanguageSpec(
        "objc", "objc", ("m", "mm"),
        definitions={"function_definition": "function", "method_definition": "method",
                     "class_implementation": "class", "class_interface": "interface",
                     "protocol_declaration": "protocol", "struct_specifier": "struct"},
        requires={"struct_specifier": "body"},
        name_paths=("declarator*", "name", "@identifier", "@method_identifier", "@type_identifier"),
        conditions=_C_CONDITIONS,
        extra=_C_KEYWORD_IDENTIFIERS,
        nested_functions=False,
    ),
    LanguageSpec(
        "gleam", "gleam", ("gleam",),
        definitions={"function": "function", "external_function": "function", "type_definition": "type"},
        name_paths=("name", "@type_name/@type_identifier"),
        conditions=frozenset({"&&", "||", "if"}),
        arms=(("case_clauses", "case_clause"),),
        public_rule=None,
    ),
    LanguageSpec(
        "elm", "elm", ("elm",),
        definitions={"value_declaration": "function", "type_declaration": "type",
                     "type_alias_declaration": "type"},
        name_paths=("functionDeclarationLeft/@lower_case_identifier", "name", "@upper_case_identifier"),
        conditions=frozenset({"if", "&&", "||"}),
        arms=(("case_of_expr", "case_of_branch"),),
    ),
    LanguageSpec(
        "clojure", "clojure", ("clj", "cljs", "cljc", "edn", "bb"), (), ("bb", "clojure"),
        definition_query=(
            '(list_lit . (sym_lit) @head (#any-of? @head "defn" "defn-" "defmacro" "defprotocol"'
            ' "defrecord" "deftype" "defmulti" "defmethod" "ns") . (sym_lit) @name) @def'
        ),
        head_kinds={"defn": "function", "defn-": "function", "defmacro": "macro", "defprotocol": "protocol",
                    "defrecord": "record", "deftype": "type", "defmulti": "function",
                    "defmethod": "method", "ns": "namespace"},
        conditions=frozenset(),
        extra=(
            '((sym_lit) @cond (#any-of? @cond "if" "if-not" "if-let" "if-some" "when" "when-not"'
            ' "when-let" "when-some" "cond" "condp" "case" "and" "or" "loop" "for" "doseq" "while" "catch"))'
        ),
    ),
    # Metrics-only languages: line counts and findings, no definitions.
    *(
        LanguageSpec(name, grammar, exts, files, markup=True, conditions=frozenset())
        for name, grammar, exts, files in _MARKUP_ROWS
    ),
)  # fmt: skip

BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in SPECS}
ALIASES: dict[str, str] = {
    "py": "python", "js": "javascript", "node": "javascript", "jsx": "javascript", "ts": "typescript",
    "golang": "go", "rs": "rust", "c++": "cpp", "cxx": "cpp", "c#": "csharp", "cs": "csharp",
    "rb": "ruby", "kt": "kotlin", "sh": "bash", "shell": "bash", "zsh": "bash", "ex": "elixir",
    "erl": "erlang", "hs": "haskell", "ml": "ocaml", "jl": "julia", "pl": "perl",
    "objective-c": "objc", "objectivec": "objc", "clj": "clojure", "md": "markdown", "yml": "yaml",
}  # fmt: skip
