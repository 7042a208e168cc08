export { shape, type ShapeResponse, type ShapedCompletion, type ShapedStep, type ShapeExtras } from './shape.js';
export { parseShapeRequest, shapeRequestSchema, jsonPath, formatIssues, type ShapeRequest, type ShapeOptions } from './schema.js';
export { semanticScoresFor } from './semantic-scores.js';
