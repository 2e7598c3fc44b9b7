"""How a definition's problems are reported: one issue per problem, with its place in the file."""

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict


class DefinitionIssue(BaseModel):
    """One problem in a definition file; line and column are 1-based."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        place = ":".join([self.file, *(str(n) for n in (self.line, self.column) if n is not None)])
        return (
            f"{place}: {self.field}: {self.message}" if self.field else f"{place}: {self.message}"
        )


class DefinitionError(ValueError):
    """A definition could not be loaded; `issues` lists every problem found."""

    def __init__(self, issues: Iterable[DefinitionIssue]) -> None:
        self.issues = list(issues)
        super().__init__("\n".join(map(str, self.issues)))
