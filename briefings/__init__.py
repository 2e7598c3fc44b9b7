"""Journey definition files: the customer journey, its briefing and quiz — schema, loading,
validation with line-accurate issues, quiz grading and version comparison.

Pure Python: imports only pydantic, PyYAML and the standard library.
"""

from briefings._base import LanguageCode, Slug
from briefings._briefing import (
    Attachment,
    Briefing,
    Persona,
    PersonaTraits,
    Quiz,
    QuizOption,
    QuizQuestion,
)
from briefings._errors import DefinitionError, DefinitionIssue
from briefings._journey import (
    NAMED_EMOTIONS,
    PROBE_FACES,
    AnswerCondition,
    Channel,
    ChoiceOption,
    Contradiction,
    EmotionConfig,
    ImplicitProbe,
    JourneyDefinition,
    KnockoutScope,
    NumberRange,
    Phase,
    ProbeKind,
    PyramidLevel,
    Question,
    QuestionType,
    ScaleSpec,
    Step,
    Touchpoint,
)
from briefings._loading import load_definition, load_file, load_quiz
from briefings._quiz import QuizResult, grade_quiz
from briefings._versions import VersionDiff, compare_versions

__all__ = [
    "NAMED_EMOTIONS",
    "PROBE_FACES",
    "AnswerCondition",
    "Attachment",
    "Briefing",
    "Channel",
    "ChoiceOption",
    "Contradiction",
    "DefinitionError",
    "DefinitionIssue",
    "EmotionConfig",
    "ImplicitProbe",
    "JourneyDefinition",
    "KnockoutScope",
    "LanguageCode",
    "NumberRange",
    "Persona",
    "PersonaTraits",
    "Phase",
    "ProbeKind",
    "PyramidLevel",
    "Question",
    "QuestionType",
    "Quiz",
    "QuizOption",
    "QuizQuestion",
    "QuizResult",
    "ScaleSpec",
    "Slug",
    "Step",
    "Touchpoint",
    "VersionDiff",
    "compare_versions",
    "grade_quiz",
    "load_definition",
    "load_file",
    "load_quiz",
]
