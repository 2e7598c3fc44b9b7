// English and Dutch. Dutch when the browser's preferred languages put Dutch before English.
const en = {
  app: "Fieldwork", loading: "Loading…", error: "Something went wrong", none: "Nothing here.",
  online: "Online", offline: "Offline", needsConnection: "This needs a connection. Try again when you are online.",
  offlineCopy: "You are offline: this is the last copy saved on this phone.",
  "sync.allSent": "all sent", "sync.waiting": "{n} waiting", "sync.sending": "{n} to send", "sync.failed": "{n} need attention",
  "sync.title": "Sync", "sync.now": "Send now", retry: "Try again", discard: "Discard",
  "discard.confirm": "Discard this item? It will never reach the server.",
  "op.start": "Check-in", "op.step": "Step", "op.media": "Photo", "op.submit": "Submission",
  "op.pending": "waiting", "op.failed": "refused",
  "login.title": "Log in", "login.username": "Username", "login.password": "Password", "login.submit": "Log in",
  "login.failed": "Wrong username or password.", "login.notShopper": "This app is meant for shoppers.",
  "login.again": "Your session has ended: finish the visit, then log in again to send it.",
  logout: "Log out", "logout.pending": "{n} items are not sent yet. Log out anyway? They are sent when you log in again.",
  "nav.mine": "My visits", "nav.board": "Job board", today: "Today", upcoming: "Upcoming", returned: "Returned for correction",
  accept: "Accept", decline: "Decline", claim: "Claim", open: "Start", resume: "Resume", correct: "Correct", briefing: "Briefing",
  "visit.view": "View", "accept.done": "Accepted.", "decline.done": "Declined.", "claim.done": "Claimed: it is now in your visits.",
  "decline.confirm": "Decline this visit?", "board.empty": "No open visits right now.", back: "Back", next: "Next", edit: "Edit",
  "status.offered": "offered", "status.accepted": "accepted", "status.in_progress": "in progress", "status.submitted": "submitted",
  "status.returned": "returned", "status.approved": "approved", "status.rejected": "rejected", "status.open": "open",
  "status.declined": "declined", "status.expired": "expired", "status.cancelled": "cancelled",
  "briefing.scenario": "Scenario", "briefing.persona": "Your role", "briefing.dos": "Do", "briefing.donts": "Don't",
  "briefing.steps": "Per step", "briefing.attachments": "Attachments",
  "quiz.title": "Briefing quiz", "quiz.intro": "Answer the questions; you need {mark}% to start the visit.",
  "quiz.attempts": "Attempts left: {n}.", "quiz.submit": "Check my answers", "quiz.passed": "Quiz passed: you may start the visit.",
  "quiz.failed": "Not passed ({score}%). Read the briefing again and retry.", "visit.start": "Start the visit",
  "gate.title": "Briefing first", "gate.text": "Read the briefing and pass its quiz before you start this visit.", "gate.read": "Read the briefing",
  "visit.acceptFirst": "Accept this visit first.",
  "checkin.button": "Check in here", "checkin.explain": "Check in when you arrive: your location is saved with the visit.",
  "checkin.locating": "Finding your location…", "checkin.noGps": "No location ({reason}). Allow location access, or check in without it.",
  "checkin.withoutGps": "Check in without location", "checkin.distance": "Checked in, {m} m from the location.",
  "visit.step": "Step {i} of {n}", notes: "Notes (optional)", yes: "Yes", no: "No", na: "Not applicable",
  "time.now": "Now", "text.min": "{n} / at least {min} characters", "text.tooShort": "Write at least {min} characters.",
  "photo.take": "Take photo", "photo.alt": "photo", "photo.remove": "Remove photo", "photo.processing": "Processing…",
  "photo.queued": "Photo saved; it is sent with the visit.", "photo.notImage": "That file is not a picture.",
  "photo.evidence": "Photo as evidence", "photo.count": "{n} photo(s)",
  "emotion.question": "How did this step make you feel?", "emotion.more": "More about this feeling (optional)",
  "emotion.arousal": "How strongly did you feel it?", "arousal.low": "calm", "arousal.high": "very worked up",
  "emotion.named": "Which emotion fits best?", "emotion.none": "— none —", "emotion.intensity": "Intensity", "emotion.note": "Comment",
  "valence.-3": "very negative", "valence.-2": "negative", "valence.-1": "slightly negative", "valence.0": "neutral",
  "valence.1": "slightly positive", "valence.2": "positive", "valence.3": "very positive",
  "emo.joy": "joy", "emo.trust": "trust", "emo.relief": "relief", "emo.surprise": "surprise", "emo.neutral": "neutral",
  "emo.boredom": "boredom", "emo.irritation": "irritation", "emo.disappointment": "disappointment", "emo.anger": "anger",
  "emo.anxiety": "anxiety", "emo.confusion": "confusion",
  "probe.title": "Gut reaction", "probe.start": "Start gut reaction ({n})", "probe.ready": "Ready",
  "probe.explain": "A quick, spontaneous reaction: do not think, just tap.",
  "probe.introValence": "A cross appears, then a word or picture. Tap at once how it feels: negative, neutral or positive.",
  "probe.introFace": "A cross appears, then a word or picture. Tap at once the face that fits it best.",
  "probe.deadline": "You have {s} seconds.", "probe.ms": "{ms} ms", "probe.timeout": "too late",
  "probe.neg": "negative", "probe.neu": "neutral", "probe.pos": "positive",
  "face.happy": "happy", "face.neutral": "neutral", "face.sad": "sad", "face.angry": "angry", "face.surprised": "surprised",
  "v.required": "Please answer this question.", "v.range": "Enter a number from {min} to {max}.", "v.evidence": "Add a photo as evidence.",
  "v.emotion": "Pick the face that fits this step.", "v.probe": "Do the gut reaction.", "v.fix": "{n} thing(s) to complete on this step.",
  "review.title": "Review", "review.go": "Review", "review.submit": "Submit the visit", "review.notVisited": "Not done yet.",
  "review.incomplete": "Complete the marked steps first.", "review.returned": "Returned for correction:", "review.deadline": "Send it again before",
  "done.title": "Visit submitted", "done.waiting": "{n} item(s) wait to be sent; they go out by themselves when you are online.",
  "done.sent": "Everything has reached the server.", "done.failed": "{n} item(s) were refused — open Sync.", "done.back": "My visits",
};

const nl = {
  loading: "Laden…", error: "Er ging iets mis", none: "Niets hier.",
  online: "Online", offline: "Offline", needsConnection: "Hiervoor is verbinding nodig. Probeer het opnieuw als je online bent.",
  offlineCopy: "Je bent offline: dit is de laatste kopie op deze telefoon.",
  "sync.allSent": "alles verstuurd", "sync.waiting": "{n} wachtend", "sync.sending": "{n} te versturen", "sync.failed": "{n} vragen aandacht",
  "sync.title": "Synchronisatie", "sync.now": "Nu versturen", retry: "Opnieuw", discard: "Weggooien",
  "discard.confirm": "Dit item weggooien? Het komt dan nooit op de server.",
  "op.start": "Inchecken", "op.step": "Stap", "op.media": "Foto", "op.submit": "Indienen", "op.pending": "wachtend", "op.failed": "geweigerd",
  "login.title": "Inloggen", "login.username": "Gebruikersnaam", "login.password": "Wachtwoord", "login.submit": "Inloggen",
  "login.failed": "Onjuiste gebruikersnaam of wachtwoord.", "login.notShopper": "Deze app is bedoeld voor shoppers.",
  "login.again": "Je sessie is verlopen: maak het bezoek af en log daarna opnieuw in om het te versturen.",
  logout: "Uitloggen", "logout.pending": "{n} items zijn nog niet verstuurd. Toch uitloggen? Ze gaan mee zodra je weer inlogt.",
  "nav.mine": "Mijn bezoeken", "nav.board": "Vacaturebord", today: "Vandaag", upcoming: "Binnenkort", returned: "Teruggestuurd ter correctie",
  accept: "Accepteren", decline: "Weigeren", claim: "Claimen", open: "Starten", resume: "Verder", correct: "Corrigeren", briefing: "Briefing",
  "visit.view": "Bekijken", "accept.done": "Geaccepteerd.", "decline.done": "Geweigerd.", "claim.done": "Geclaimd: staat nu bij je bezoeken.",
  "decline.confirm": "Dit bezoek weigeren?", "board.empty": "Nu geen open bezoeken.", back: "Terug", next: "Volgende", edit: "Wijzigen",
  "status.offered": "aangeboden", "status.accepted": "geaccepteerd", "status.in_progress": "bezig", "status.submitted": "ingediend",
  "status.returned": "teruggestuurd", "status.approved": "goedgekeurd", "status.rejected": "afgekeurd", "status.open": "open",
  "status.declined": "geweigerd", "status.expired": "verlopen", "status.cancelled": "geannuleerd",
  "briefing.scenario": "Scenario", "briefing.persona": "Jouw rol", "briefing.dos": "Wel doen", "briefing.donts": "Niet doen",
  "briefing.steps": "Per stap", "briefing.attachments": "Bijlagen",
  "quiz.title": "Briefingquiz", "quiz.intro": "Beantwoord de vragen; je hebt {mark}% nodig om het bezoek te starten.",
  "quiz.attempts": "Pogingen over: {n}.", "quiz.submit": "Controleer mijn antwoorden", "quiz.passed": "Quiz gehaald: je mag het bezoek starten.",
  "quiz.failed": "Niet gehaald ({score}%). Lees de briefing opnieuw en probeer het nog eens.", "visit.start": "Bezoek starten",
  "gate.title": "Eerst de briefing", "gate.text": "Lees de briefing en haal de quiz voordat je dit bezoek start.", "gate.read": "Briefing lezen",
  "visit.acceptFirst": "Accepteer dit bezoek eerst.",
  "checkin.button": "Hier inchecken", "checkin.explain": "Check in bij aankomst: je locatie wordt bij het bezoek bewaard.",
  "checkin.locating": "Locatie bepalen…", "checkin.noGps": "Geen locatie ({reason}). Sta locatietoegang toe, of check in zonder.",
  "checkin.withoutGps": "Inchecken zonder locatie", "checkin.distance": "Ingecheckt, {m} m van de locatie.",
  "visit.step": "Stap {i} van {n}", notes: "Notities (optioneel)", yes: "Ja", no: "Nee", na: "Niet van toepassing",
  "time.now": "Nu", "text.min": "{n} / minstens {min} tekens", "text.tooShort": "Schrijf minstens {min} tekens.",
  "photo.take": "Foto maken", "photo.alt": "foto", "photo.remove": "Foto verwijderen", "photo.processing": "Verwerken…",
  "photo.queued": "Foto bewaard; hij gaat mee met het bezoek.", "photo.notImage": "Dat bestand is geen afbeelding.",
  "photo.evidence": "Foto als bewijs", "photo.count": "{n} foto('s)",
  "emotion.question": "Hoe voelde deze stap?", "emotion.more": "Meer over dit gevoel (optioneel)",
  "emotion.arousal": "Hoe sterk voelde je het?", "arousal.low": "rustig", "arousal.high": "heel opgewonden",
  "emotion.named": "Welke emotie past het best?", "emotion.none": "— geen —", "emotion.intensity": "Sterkte", "emotion.note": "Opmerking",
  "valence.-3": "heel negatief", "valence.-2": "negatief", "valence.-1": "een beetje negatief", "valence.0": "neutraal",
  "valence.1": "een beetje positief", "valence.2": "positief", "valence.3": "heel positief",
  "emo.joy": "blijdschap", "emo.trust": "vertrouwen", "emo.relief": "opluchting", "emo.surprise": "verrassing", "emo.neutral": "neutraal",
  "emo.boredom": "verveling", "emo.irritation": "irritatie", "emo.disappointment": "teleurstelling", "emo.anger": "boosheid",
  "emo.anxiety": "onrust", "emo.confusion": "verwarring",
  "probe.title": "Eerste reactie", "probe.start": "Start eerste reactie ({n})", "probe.ready": "Klaar",
  "probe.explain": "Een snelle, spontane reactie: niet nadenken, gewoon tikken.",
  "probe.introValence": "Eerst verschijnt een kruisje, dan een woord of beeld. Tik meteen hoe het voelt: negatief, neutraal of positief.",
  "probe.introFace": "Eerst verschijnt een kruisje, dan een woord of beeld. Tik meteen het gezicht dat er het best bij past.",
  "probe.deadline": "Je hebt {s} seconden.", "probe.ms": "{ms} ms", "probe.timeout": "te laat",
  "probe.neg": "negatief", "probe.neu": "neutraal", "probe.pos": "positief",
  "face.happy": "blij", "face.neutral": "neutraal", "face.sad": "verdrietig", "face.angry": "boos", "face.surprised": "verrast",
  "v.required": "Beantwoord deze vraag.", "v.range": "Vul een getal in van {min} tot {max}.", "v.evidence": "Voeg een foto als bewijs toe.",
  "v.emotion": "Kies het gezicht dat bij deze stap past.", "v.probe": "Doe de eerste reactie.", "v.fix": "Nog {n} punt(en) in te vullen op deze stap.",
  "review.title": "Controleren", "review.go": "Controleren", "review.submit": "Bezoek indienen", "review.notVisited": "Nog niet gedaan.",
  "review.incomplete": "Maak eerst de gemarkeerde stappen af.", "review.returned": "Teruggestuurd ter correctie:", "review.deadline": "Stuur het opnieuw in vóór",
  "done.title": "Bezoek ingediend", "done.waiting": "{n} item(s) wachten op verzending; ze gaan vanzelf zodra je online bent.",
  "done.sent": "Alles staat op de server.", "done.failed": "{n} item(s) geweigerd — open Synchronisatie.", "done.back": "Mijn bezoeken",
};

function preferredLanguage() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "nl" || base === "en") return base;
  }
  return "en";
}

const lang = preferredLanguage();
const strings = lang === "nl" ? { ...en, ...nl } : en;

/** The text for `key` in the user's language, with {placeholders} filled in. */
export function t(key, params = {}) {
  const text = strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}
t.lang = lang;

/** A journey text in the user's language: `field_nl` when Dutch and present, else `field`. */
export function pick(obj, field) {
  return (lang === "nl" && obj?.[`${field}_nl`]) || obj?.[field] || "";
}
