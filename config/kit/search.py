"""List searches that use indexes at factory scale.

Django's admin search puts every search field into one WHERE clause over the joined tables:
`upper(device.serial_number) LIKE … OR upper(incident.description) LIKE … OR …`. An OR across
tables cannot use any table's index, so each search reads every incident and its joins.

`IndexedSearchMixin` keeps the admin's meaning (the terms of the query each match some field;
`=` exact, `^` prefix, otherwise a substring, case-insensitive) but asks each related table
for its matches on its own: `device_id IN (SELECT id FROM device WHERE upper(serial) LIKE … OR
upper(project) LIKE …)`, and takes the union of what each part finds. Within one table the ORs
combine that table's indexes (PostgreSQL trigram indexes on `upper(column)`, the expression
Django's `icontains` compares; see the migrations naming `gin_trgm_ops`), and a join never
multiplies rows, so no DISTINCT is needed.

That union serves a narrow term (a serial number, a name) and not a term most rows match (a
single letter, a fail item half the incidents carry): gathering nearly every key into a set and
joining it back cost over a second at 100,000 incidents. Such a term is tested row by row (each
subquery read once as a hashed set), which a list in an indexed order stops reading once its
page is full. PostgreSQL's planner chooses: each term is searched in the form it expects to cost
less (`cheapest_matching`).

A term of one or two characters ("三", "三次", "TX", a two-character name) has no trigram, so
neither form could use an index for it: every description was read, for the page and again for
its count. Columns that need it carry a character index on PostgreSQL: GIN over the characters
of their upper-cased text (`string_to_array(upper(column), NULL)`; see the migrations naming
`_chars`). A text that holds a term holds each of its characters, so the index finds the rows
that may hold it and the admin's own test keeps those that do: the same rows. In a third form
(`INDEXED`) those columns are asked through it and each related table's keys are handed over as
an array (`= ANY(ARRAY(…))`), which the key's index looks up: one bitmap of every part, counted
or walked in the list's order without reading the other rows. A table's columns go through
their character indexes only when each searched column has one. The planner costs this form
beside the other two.

Two departures from the admin's own search, both about what an index can answer:
- a single letter or digit (`matches_from_start`) matches from the start of a value: no
  trigram index holds it, and "3" is somewhere in nearly every serial number, so such a search
  read and sorted most of the table to show a page of noise. Any longer term, and any Chinese
  character, is found anywhere in a value: most Chinese words are two characters ("掉线"), and a
  two-letter code ("TX") is a word of a fail item;
- an exact (`=`) term on a number compares numbers, so `=id` reads the key's index instead of
  the text of every key, and takes the number as the lists write it too ("#71668").

Every search, indexed or the admin's own (`BoundedSearchMixin`), and Ctrl+K use the first
`MAX_SEARCH_TERMS` words of a query, each at most `MAX_TERM_LENGTH` characters, and say so when
they cut: each word is a condition on every search field, and a search of 1,000 words kept a
process busy for minutes.
"""

import contextvars
import functools
import json
import operator
import re
from collections import defaultdict

from django.contrib import messages
from django.contrib.admin.views.main import SEARCH_VAR
from django.core.exceptions import EmptyResultSet, FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import BooleanField, CharField, Expression, F, Q, Subquery, TextField
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext as _

LOOKUPS = {"=": "iexact", "^": "istartswith"}
# What one search uses at most: enough for any serial number, name or phrase people type.
MAX_SEARCH_TERMS = 10
MAX_TERM_LENGTH = 100


def _quoted(bit: str) -> bool:
    return bit.startswith(('"', "'")) and bit[0] == bit[-1]


def bounded_search(search_term: str) -> tuple[str, bool]:
    """The query of a search as it is used: its first `MAX_SEARCH_TERMS` words (a quoted
    phrase is one), each cut to `MAX_TERM_LENGTH` characters; and whether anything was cut."""
    bits, cut = [], False
    for bit in smart_split(search_term):
        if len(bits) == MAX_SEARCH_TERMS:
            cut = True
            break
        if _quoted(bit):
            inner = unescape_string_literal(bit)
            if len(inner) > MAX_TERM_LENGTH:
                inner, cut = inner[:MAX_TERM_LENGTH], True
            bit = '"' + inner.replace("\\", "\\\\").replace('"', '\\"') + '"'
        elif len(bit) > MAX_TERM_LENGTH:
            bit, cut = bit[:MAX_TERM_LENGTH], True
        bits.append(bit)
    return (" ".join(bits), True) if cut else (search_term, False)


def search_cut_message() -> str:
    """What a person is told when their search was cut."""
    return _(
        "Only the first %(terms)s words of the search were used, each up to %(length)s characters."
    ) % {"terms": MAX_SEARCH_TERMS, "length": MAX_TERM_LENGTH}


def search_bound_message(search_term: str) -> str | None:
    """`search_cut_message` when `search_term` is cut, else None."""
    return search_cut_message() if bounded_search(search_term)[1] else None


class BoundedSearchMixin:
    """For a ModelAdmin with a search: the first words of a query are searched, and the list
    says when it left some out (see the module's docstring)."""

    def get_search_results(self, request, queryset, search_term):
        search_term, _cut = bounded_search(search_term)
        return super().get_search_results(request, queryset, search_term)

    def changelist_view(self, request, extra_context=None):
        said = search_bound_message(request.GET.get(SEARCH_VAR, ""))
        if said and request.method == "GET":
            messages.warning(request, said)
        return super().changelist_view(request, extra_context)


def matches_from_start(term: str) -> bool:
    """Whether `term` is a single letter or digit, which is inside nearly every value and no
    index holds: it is matched from the start of a value instead."""
    return len(term) == 1 and term.isascii() and term.isalnum()


def _lookup(field: str) -> tuple[str, str]:
    """A search field without its prefix, and the lookup the prefix stands for."""
    if field[:1] in LOOKUPS:
        return field[1:], LOOKUPS[field[0]]
    return field, "icontains"


# The longest term the character index serves: a trigram index serves longer ones.
SHORT_TERM_LENGTH = 2


def short_term(term: str) -> bool:
    """Whether `term` is searched anywhere in a value and too short for a trigram: the
    character index serves it."""
    return 0 < len(term) <= SHORT_TERM_LENGTH and not matches_from_start(term)


_CHARACTER_INDEX = re.compile(r'string_to_array\(upper\(\(?"?(\w+)"?\)?(?:::text)?\), NULL::text\)')
_character_indexed: dict[str, frozenset[tuple[str, str]]] = {}


def character_indexed_columns(alias: str) -> frozenset[tuple[str, str]]:
    """The (table, column) pairs with a character index in database `alias`, read from the
    catalogue once a process: only those are asked through one."""
    if alias in _character_indexed:
        return _character_indexed[alias]
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND indexdef LIKE %s",
            ["%USING gin (string_to_array(upper(%"],
        )
        found = frozenset(
            (table, match.group(1))
            for table, definition in cursor.fetchall()
            if (match := _CHARACTER_INDEX.search(definition))
        )
    if found:
        _character_indexed[alias] = found
    return found


class _CharacterTest(Expression):
    """A test of a text column's upper-cased text against a term (`template`)."""

    conditional = True
    output_field = BooleanField()
    template = ""

    def __init__(self, column, term: str):
        super().__init__()
        self.column, self.term = column, term

    def get_source_expressions(self):
        return [self.column]

    def set_source_expressions(self, expressions):
        (self.column,) = expressions

    def as_sql(self, compiler, connection):
        column, params = compiler.compile(self.column)
        return self.template.format(text=f"UPPER({column}::text)"), (*params, self.term)


class _CharactersContain(_CharacterTest):
    """The text holds every character of the term, which the column's character index (GIN
    on `string_to_array(upper(column), NULL)`) answers: true of every text holding the term."""

    template = "string_to_array({text}, NULL) @> string_to_array(UPPER(%s), NULL)"


class _Holds(_CharacterTest):
    """The text holds the term, as the admin's `icontains` compares (both upper-cased, the
    term taken literally), written so that no trigram index is asked for a term too short
    for one."""

    template = "STRPOS({text}, UPPER(%s)) > 0"


class _AnyOf(Expression):
    """`column = ANY(ARRAY(subquery))`: the subquery's keys handed over as an array, which
    the column's index looks up (an IN is a join or a hashed set, tested row by row)."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, column, rows):
        super().__init__()
        self.column, self.rows = column, Subquery(rows)

    def get_source_expressions(self):
        return [self.column, self.rows]

    def set_source_expressions(self, expressions):
        self.column, self.rows = expressions

    def as_sql(self, compiler, connection):
        column, column_params = compiler.compile(self.column)
        rows, rows_params = compiler.compile(self.rows)
        return f"{column} = ANY(ARRAY{rows})", (*column_params, *rows_params)


def _condition(model, path: str, lookup: str, term: str) -> Q | None:
    """The test of one of `model`'s own fields for `term`, or None when the field cannot hold
    the term (`=id` with "G18" is no match rather than an error, as Django's admin decides)."""
    if lookup == "icontains" and matches_from_start(term):
        lookup = "istartswith"
    if lookup != "iexact":
        return Q(**{f"{path}__{lookup}": term})
    *relations, name = path.split("__")
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if isinstance(field, (CharField, TextField)):
        return Q(**{f"{path}__iexact": term})
    # A number as the lists write an incident's ("#71668") is that number.
    number = term[1:] if term.startswith("#") else term
    try:
        value = field.to_python(number)
    except ValidationError:
        return None
    # Compared as text, "02" is not 2.
    return Q(**{f"{path}__exact": value}) if str(value) == number else None


@functools.lru_cache(maxsize=256)
def _one_character(term: str, alias: str) -> bool:
    """Whether `term` is one character upper-cased as the database upper-cases it (some
    characters become two, as "ß" may)."""
    if len(term) != 1:
        return False
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT LENGTH(UPPER(%s)) = 1", [term])
        return bool(cursor.fetchone()[0])


def _all_character_indexed(model, mine: list[tuple[str, str]], term: str) -> bool:
    """Whether each of `model`'s own searched columns is either a text column with a
    character index or a number compared exactly (a key's index), for a short `term`: a
    column without an index in the same OR would make the database read every row."""
    if not short_term(term):
        return False
    indexed = character_indexed_columns(_SEARCHED_DATABASE.get())
    any_indexed = False
    for path, lookup in mine:
        if "__" in path:
            return False
        field = model._meta.get_field(path)
        if lookup == "icontains" and (model._meta.db_table, field.column) in indexed:
            any_indexed = True
        elif lookup == "iexact" and not isinstance(field, (CharField, TextField)):
            continue
        else:
            return False
    return any_indexed


def _follows(relation) -> bool:
    """Whether a search path is followed through `relation` by a subquery of its own: a foreign
    key, or the reverse of one (a device's incidents). A many-to-many is left to the admin."""
    return relation.is_relation and (relation.many_to_one or relation.one_to_many)


def _spans_many_to_many(model, path: str) -> bool:
    for name in path.split("__")[:-1]:
        relation = model._meta.get_field(name)
        if not _follows(relation):
            return True
        model = relation.related_model
    return False


# The forms of a search (see the module's docstring).
UNION = "union"
ROW_BY_ROW = "row by row"
INDEXED = "indexed"
# The database whose character indexes the INDEXED form asks for (cheapest_matching sets it).
_SEARCHED_DATABASE: contextvars.ContextVar[str] = contextvars.ContextVar(
    "searched_database", default="default"
)


def matching(model, fields: list[str], term: str, form: str = UNION) -> Q:
    """A condition on `model` true where `term` matches one of `fields` (paths as the admin
    writes them), each related table asked once through a subquery of its own.

    With related tables, in the UNION form the rows are the union of what each part finds
    (this table's own columns; each foreign key's matches): each part uses its own index, where
    an OR of a column test and a subquery makes PostgreSQL test every row. ROW_BY_ROW is that
    OR: each row tested against every part (each subquery read once, as a hashed set), which a
    list in an indexed order stops reading once its page is full; the better for a term most
    rows match (`cheapest_matching` chooses)."""
    own = Q()
    related: dict[str, list[str]] = defaultdict(list)
    mine = []
    for field in fields:
        path, lookup = _lookup(field)
        head, _, rest = path.partition("__")
        if rest and _follows(model._meta.get_field(head)):
            prefix = "" if lookup == "icontains" else field[0]
            related[head].append(prefix + rest)
        else:
            mine.append((path, lookup))
    # In the INDEXED form this table's columns are asked through their character indexes
    # (`candidates`, a superset of the rows) only when every one searched has one.
    indexed = form == INDEXED and _all_character_indexed(model, mine, term)
    candidates = Q()
    for path, lookup in mine:
        if indexed and lookup == "icontains":
            candidates |= Q(_CharactersContain(F(path), term))
            own |= Q(_Holds(F(path), term))
        elif (condition := _condition(model, path, lookup, term)) is not None:
            own |= condition
            candidates |= condition
    rows = model._base_manager.order_by()
    parts = [own] if own else []
    found_by_relations = []
    for head, rest in related.items():
        relation = model._meta.get_field(head)
        target = relation.related_model
        inner = matching(target, rest, term, form)
        if not inner:
            continue
        found = target._base_manager.order_by().filter(inner)
        if form == INDEXED:
            column, keys = (
                (relation.attname, "pk") if relation.many_to_one else ("pk", relation.field.attname)
            )
            found_by_relations.append(Q(_AnyOf(F(column), found.values(keys))))
        if relation.many_to_one:
            parts.append(Q(**{f"{relation.attname}__in": found.values("pk")}))
        else:
            # Rows of which any related row matches (a device by its incidents' fail items):
            # an IN, so a row with several matches is still one row.
            parts.append(Q(pk__in=found.values(relation.field.attname)))
    if form == INDEXED:
        # The rows the indexes find (one bitmap of every part), of which those that hold the
        # term, tested row by row (each subquery a hashed set: a long array is searched
        # through, not hashed): the characters of a text are not computed again for each row.
        exact = functools.reduce(operator.or_, parts, Q())
        if not indexed or not exact:
            return exact
        found = functools.reduce(operator.or_, found_by_relations, candidates)
        # A text holds one character exactly when its characters include it: counted from the
        # indexes alone, without reading a row to test it again.
        return found if _one_character(term, _SEARCHED_DATABASE.get()) else found & exact
    if not related or not parts:
        return own if not related else Q()
    if form == ROW_BY_ROW:
        return functools.reduce(operator.or_, parts)
    found = [rows.filter(part).values("pk") for part in parts]
    return Q(pk__in=found[0].union(*found[1:]) if len(found) > 1 else found[0])


def planned_cost(queryset) -> float:
    """What PostgreSQL's planner expects reading `queryset`'s rows to cost (its own units);
    nothing for rows known to be none (a filter of no values) without asking."""
    try:
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
    except EmptyResultSet:
        return 0.0
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]["Plan"]["Total Cost"]


def cheapest_matching(queryset, fields: list[str], term: str) -> Q:
    """`matching` for `queryset`'s rows in the form the planner expects to cost less for this
    term: a narrow term (a serial number, a name) reads few rows through each part's index (the
    union); a term most rows match is cheaper tested row by row than gathered into a set of
    nearly every key (a single letter, a fail item half the incidents carry); a term of one
    or two characters is also costed through the character indexes (INDEXED). On PostgreSQL;
    elsewhere (SQLite's small tables) the union."""
    union = matching(queryset.model, fields, term)
    if connections[queryset.db].vendor != "postgresql":
        return union
    forms = {UNION: union}
    if _reaches_other_tables(fields):
        forms[ROW_BY_ROW] = matching(queryset.model, fields, term, ROW_BY_ROW)
    if short_term(term) and character_indexed_columns(queryset.db):
        token = _SEARCHED_DATABASE.set(queryset.db)
        try:
            forms[INDEXED] = matching(queryset.model, fields, term, INDEXED)
        finally:
            _SEARCHED_DATABASE.reset(token)
    if len(forms) == 1:
        return union
    costs = {form: planned_cost(queryset.filter(condition)) for form, condition in forms.items()}
    if INDEXED in costs:
        costs[INDEXED] *= INDEXED_WEIGHT
    return forms[min(costs, key=costs.get)]


# The planner costs a text test (`LIKE`, `strpos`) as one operator whatever the text's length:
# forms that test every row's description are cheaper to it than they are against the INDEXED
# form, which tests only the rows its indexes found (at 100,000 incidents they took 1.5 to 3
# times as long as planned against it). Its plan is weighed at this share of its cost.
INDEXED_WEIGHT = 2 / 3


def _reaches_other_tables(fields: list[str]) -> bool:
    return any("__" in _lookup(field)[0] for field in fields)


class IndexedSearchMixin(BoundedSearchMixin):
    """For a ModelAdmin whose search fields reach other tables through foreign keys: each term
    must match, each table is searched on its own (see the module's docstring)."""

    def get_search_results(self, request, queryset, search_term):
        search_term, _cut = bounded_search(search_term)
        fields = self.get_search_fields(request)
        if not fields or not search_term:
            return queryset, False
        # Across a many-to-many relation the admin's own search (and its DISTINCT) is kept.
        if any(_spans_many_to_many(self.model, _lookup(field)[0]) for field in fields):
            return super().get_search_results(request, queryset, search_term)
        # Each term's form is costed on the rows before any term (one term's condition a plan).
        rows = queryset
        for bit in smart_split(search_term):
            if _quoted(bit):
                bit = unescape_string_literal(bit)
            condition = cheapest_matching(rows, fields, bit)
            queryset = queryset.filter(condition) if condition else queryset.none()
        return queryset, False
