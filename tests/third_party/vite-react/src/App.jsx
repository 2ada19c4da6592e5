import { Link, Route, Routes, useParams } from 'react-router'
import Home from './Home.jsx'
import { products } from './products.js'
import './App.css'

// Every route below is drawn in the browser from the one index.html: a crawler that runs
// no JavaScript sees that file's head for /about and /products/tide-clock alike.
function App() {
  return (
    <>
      <nav id="routes">
        <Link to="/">Home</Link>
        <Link to="/about">About</Link>
        {Object.entries(products).map(([id, product]) => (
          <Link key={id} to={`/products/${id}`}>
            {product.name}
          </Link>
        ))}
      </nav>
      <Routes>
        <Route path="/" element={<Home />} />
        <Route path="/about" element={<About />} />
        <Route path="/products/:id" element={<Product />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </>
  )
}

function About() {
  return (
    <section className="page">
      <title>About — Quayside</title>
      <h1>About Quayside</h1>
      <p>
        Quayside sells tide clocks and gauges to small harbours. It is an example
        shop: the Vite React template with client-side routes.
      </p>
    </section>
  )
}

function Product() {
  const { id } = useParams()
  const product = products[id]
  if (!product) {
    return <NotFound />
  }
  return (
    <section className="page">
      <title>{`${product.name} — Quayside`}</title>
      <h1>{product.name}</h1>
      <p>{product.text}</p>
    </section>
  )
}

function NotFound() {
  return (
    <section className="page">
      <title>Not found — Quayside</title>
      <h1>Not found</h1>
      <p>
        There is no such page. <Link to="/">Back to the shop</Link>.
      </p>
    </section>
  )
}

export default App
