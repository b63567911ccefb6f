import type { Locale } from "./types";

const en = {
  tryOn: "Try it on",
  dialogTitle: "Virtual try-on",
  close: "Close",
  back: "Back",
  chooseMode: "How would you like to try it on?",
  modeLive: "Use my camera",
  modeLiveHint: "See it on you, live",
  modePhoto: "Upload a photo",
  modePhotoHint: "A clear photo of your face",
  modeModel: "Try it on a model",
  modeModelHint: "No camera or photo needed",
  consentTitle: "Before we start",
  consentCamera:
    "Your camera picture is sent to our try-on service only to draw the product on it. It is processed in memory and never stored.",
  consentPhoto:
    "Your photo is sent to our try-on service only to draw the product on it. It is processed in memory and never stored.",
  consentAgree: "I agree, continue",
  cancel: "Cancel",
  colour: "Colour",
  loading: "Loading…",
  starting: "Starting the camera…",
  connecting: "Connecting…",
  rendering: "Putting it on…",
  live: "Live try-on",
  mirror: "Mirror",
  snapshot: "Take a snapshot",
  download: "Download",
  retake: "Back to live",
  choosePhoto: "Choose a photo",
  anotherPhoto: "Try another photo",
  photoResult: "You, wearing",
  models: "Choose a model",
  addToCart: "Add to cart",
  added: "Added to your cart",
  sizeTitle: "Size",
  photoOf: "A photo of {hint}",
  hint_eyewear: "your face, looking at the camera",
  hint_hat: "your whole head, looking at the camera",
  hint_earrings: "your face and ears, looking at the camera",
  hint_necklace: "your face, neck and shoulders",
  hint_top: "you from the waist up, facing the camera",
  err_photo_face: "We could not find a face in this photo. Try a photo of {hint}.",
  err_photo_body: "We could not see your shoulders and chest in this photo. Try a photo of {hint}.",
  err_photo_neck: "We could not see your neck in this photo. Try a photo of {hint}.",
  err_live_face: "We can’t see your face. Face the camera in good light.",
  err_live_body: "We can’t see your shoulders. Step back so you are in view from the waist up.",
  err_live_neck: "We can’t see your neck. Step back so your neck and shoulders are in view.",
  err_model_face: "We could not find this model’s face. Please choose another model.",
  err_model_body: "This model’s photo does not show enough of the body for this product. Please choose another model.",
  err_model_neck: "This model’s photo does not show the neck. Please choose another model.",
  modelResult: "{name}, wearing",
  sizeAdvice: "We suggest size {size}",
  sure_low: "A rough guess from your picture: check the size chart too.",
  sure_mid: "A fair guess: check the size chart if you are between sizes.",
  sure_high: "We are quite sure about this size.",
  sizeChoose: "Which size do you want?",
  choicePicked: "{size}, your pick",
  choiceAdvised: "{size}, suggested",
  sizeSame: "Your pick, {size}, is the size we suggest.",
  addSize: "Add size {size} to cart",
  adding: "Adding to your cart…",
  cartRefused: "Your cart did not take it. Please try again, or add it on the page.",
  cartUnheard: "This page’s cart is not connected to the try-on. Please add it on the page.",
  retry: "Try again",
  usePhotoInstead: "Upload a photo instead",
  unavailable: "Try-on is not available for this product.",
  err_no_camera: "No camera was found. You can upload a photo instead.",
  err_permission_denied:
    "Camera access was denied. Allow the camera in your browser's settings, or upload a photo instead.",
  err_camera_busy: "The camera is in use by another application.",
  err_no_face: "We could not find a face. Face the camera in good light, or try another photo.",
  err_offline: "You are offline. Check your connection and try again.",
  err_quota_reached: "Try-on is unavailable right now. Please come back later.",
  err_rate_limited: "Too many tries at once. Please wait a moment.",
  err_invalid_image: "This file is not a photo we can use (JPEG, PNG or WebP, up to 10 MB).",
  err_not_available: "Try-on is not available for this product.",
  err_invalid_key: "Try-on is not set up correctly on this site.",
  err_server: "Something went wrong on our side. Please try again.",
  err_network: "We could not reach the try-on service. Please try again.",
};

export type MessageKey = keyof typeof en;
export type Messages = Record<MessageKey, string>;

const fr: Messages = {
  tryOn: "Essayer",
  dialogTitle: "Essayage virtuel",
  close: "Fermer",
  back: "Retour",
  chooseMode: "Comment voulez-vous l’essayer ?",
  modeLive: "Utiliser ma caméra",
  modeLiveHint: "Voyez-le sur vous, en direct",
  modePhoto: "Envoyer une photo",
  modePhotoHint: "Une photo nette de votre visage",
  modeModel: "L’essayer sur un mannequin",
  modeModelHint: "Sans caméra ni photo",
  consentTitle: "Avant de commencer",
  consentCamera:
    "L’image de votre caméra est envoyée à notre service d’essayage uniquement pour y dessiner le produit. Elle est traitée en mémoire et jamais conservée.",
  consentPhoto:
    "Votre photo est envoyée à notre service d’essayage uniquement pour y dessiner le produit. Elle est traitée en mémoire et jamais conservée.",
  consentAgree: "J’accepte, continuer",
  cancel: "Annuler",
  colour: "Couleur",
  loading: "Chargement…",
  starting: "Démarrage de la caméra…",
  connecting: "Connexion…",
  rendering: "Essayage en cours…",
  live: "Essayage en direct",
  mirror: "Miroir",
  snapshot: "Prendre une photo",
  download: "Télécharger",
  retake: "Retour au direct",
  choosePhoto: "Choisir une photo",
  anotherPhoto: "Essayer une autre photo",
  photoResult: "Vous, portant",
  models: "Choisissez un mannequin",
  addToCart: "Ajouter au panier",
  added: "Ajouté à votre panier",
  sizeTitle: "Taille",
  photoOf: "Une photo de {hint}",
  hint_eyewear: "votre visage, regard vers l’objectif",
  hint_hat: "toute votre tête, regard vers l’objectif",
  hint_earrings: "votre visage et vos oreilles, regard vers l’objectif",
  hint_necklace: "votre visage, votre cou et vos épaules",
  hint_top: "vous jusqu’à la taille, face à l’objectif",
  err_photo_face: "Aucun visage trouvé sur cette photo. Essayez une photo de {hint}.",
  err_photo_body: "Nous ne voyons pas vos épaules et votre buste sur cette photo. Essayez une photo de {hint}.",
  err_photo_neck: "Nous ne voyons pas votre cou sur cette photo. Essayez une photo de {hint}.",
  err_live_face: "Nous ne voyons pas votre visage. Placez-vous face à la caméra, bien éclairé.",
  err_live_body: "Nous ne voyons pas vos épaules. Reculez pour être visible jusqu’à la taille.",
  err_live_neck: "Nous ne voyons pas votre cou. Reculez pour que le cou et les épaules soient visibles.",
  err_model_face: "Nous ne trouvons pas le visage de ce mannequin. Choisissez-en un autre.",
  err_model_body: "La photo de ce mannequin ne montre pas assez le corps pour ce produit. Choisissez-en un autre.",
  err_model_neck: "La photo de ce mannequin ne montre pas le cou. Choisissez-en un autre.",
  modelResult: "{name}, portant",
  sizeAdvice: "Nous vous conseillons la taille {size}",
  sure_low: "Une estimation approximative d’après votre image : consultez aussi le guide des tailles.",
  sure_mid: "Une estimation correcte : consultez le guide des tailles si vous hésitez entre deux tailles.",
  sure_high: "Nous sommes assez sûrs de cette taille.",
  sizeChoose: "Quelle taille voulez-vous ?",
  choicePicked: "{size}, votre choix",
  choiceAdvised: "{size}, conseillée",
  sizeSame: "Votre choix, {size}, est la taille que nous conseillons.",
  addSize: "Ajouter la taille {size} au panier",
  adding: "Ajout au panier…",
  cartRefused: "Votre panier ne l’a pas pris. Réessayez, ou ajoutez-le depuis la page.",
  cartUnheard: "Le panier de cette page n’est pas relié à l’essayage. Ajoutez-le depuis la page.",
  retry: "Réessayer",
  usePhotoInstead: "Envoyer une photo à la place",
  unavailable: "L’essayage n’est pas disponible pour ce produit.",
  err_no_camera: "Aucune caméra trouvée. Vous pouvez envoyer une photo à la place.",
  err_permission_denied:
    "L’accès à la caméra a été refusé. Autorisez la caméra dans les réglages du navigateur, ou envoyez une photo.",
  err_camera_busy: "La caméra est utilisée par une autre application.",
  err_no_face:
    "Aucun visage trouvé. Placez-vous face à la caméra, bien éclairé, ou essayez une autre photo.",
  err_offline: "Vous êtes hors ligne. Vérifiez votre connexion et réessayez.",
  err_quota_reached: "L’essayage est indisponible pour le moment. Revenez plus tard.",
  err_rate_limited: "Trop d’essais à la fois. Patientez un instant.",
  err_invalid_image:
    "Ce fichier n’est pas une photo utilisable (JPEG, PNG ou WebP, 10 Mo au plus).",
  err_not_available: "L’essayage n’est pas disponible pour ce produit.",
  err_invalid_key: "L’essayage n’est pas correctement configuré sur ce site.",
  err_server: "Un problème est survenu de notre côté. Veuillez réessayer.",
  err_network: "Impossible de joindre le service d’essayage. Veuillez réessayer.",
};

export const CATALOGS: Record<Exclude<Locale, "auto">, Messages> = { en, fr };

/** The catalog language for `locale`; `"auto"` takes the first supported browser language. */
export function resolveLocale(
  locale: Locale,
  languages: readonly string[] = typeof navigator === "undefined" ? [] : navigator.languages,
): Exclude<Locale, "auto"> {
  if (locale !== "auto") return locale;
  for (const tag of languages) {
    const base = tag.toLowerCase().split("-")[0];
    if (base === "en" || base === "fr") return base;
  }
  return "en";
}

/** A translate function for one language; `{name}` placeholders are filled from `vars`. */
export function translator(lang: Exclude<Locale, "auto">) {
  const messages = CATALOGS[lang];
  return (key: MessageKey, vars: Record<string, string> = {}): string =>
    messages[key].replace(/\{(\w+)\}/g, (_, name: string) => vars[name] ?? "");
}

export type Translate = ReturnType<typeof translator>;
