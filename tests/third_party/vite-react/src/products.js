// The catalogue behind /products/:id; an id that is not here is the not-found page.
export const products = {
  'tide-clock': {
    name: 'Tide clock',
    text: 'A brass clock whose one hand points at high water, low water and back.',
  },
  'harbour-gauge': {
    name: 'Harbour gauge',
    text: 'A float gauge for the quay wall, read by eye or by Harbour.',
  },
}
