// Swagger UI on the Worker's own OpenAPI document (the `data-openapi` URL of #swagger-ui).
// No validator: Swagger UI would otherwise send the document to a public validation service.
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapi,
  domNode: root,
  deepLinking: true,
  validatorUrl: null,
  presets: [window.SwaggerUIBundle.presets.apis],
});
